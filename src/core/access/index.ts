/**
 * Access in one place for every front end: key-path globs, the policy and its one decision
 * function, token lifecycle, and which audit records a policy may read.
 */
export {
  AGENT_HEADER,
  actorWithAgent,
  agentLabelFor,
  MAX_AGENT_LABEL,
  parseAgentLabel,
} from './agent-label.js';
export {
  AUDIT_SCAN_MIN,
  type AuditFilter,
  type AuditNewestPage,
  type AuditNewestQuery,
  type AuditWithinPage,
  type AuditWithinQuery,
  auditRecordVisible,
  auditScanLimit,
  readAuditNewestWithin,
  readAuditWithin,
} from './audit-access.js';
export {
  globsBeyondCaps,
  globWithin,
  MAX_GLOB_LENGTH,
  MAX_GLOBS,
  PathScope,
  parseGlobs,
} from './globs.js';
export {
  AccessPolicy,
  authorize,
  type Denier,
  type PolicySpec,
  type RevealPolicy,
  refuse,
  type Target,
  type TokenCapability,
} from './policy.js';
export {
  type CreatedToken,
  createToken,
  hashTokenSecret,
  listTokens,
  parseCapabilities,
  parseTokenName,
  parseTokenString,
  parseTtl,
  revokeToken,
  TOKEN_CAPABILITIES,
  type TokenInfo,
  type TokenManager,
  type TokenRequest,
  tokenInfo,
  tokenPolicySpec,
  tokenSecretMatches,
  tokenUnusable,
} from './tokens.js';
export { authorizeValueReferences } from './value-references.js';
