/**
 * Every tool of `coffer mcp`, in the order tools/list shows them. There is deliberately no
 * delete tool: deleting a secret stays a human command (`coffer delete`). `rotation_status`
 * reports rotation states; rotating stays a human command.
 */
import { generateSecretTool } from './generate-secret-tool.js';
import { getSecretTool } from './get-secret-tool.js';
import { listSecretsTool } from './list-secrets-tool.js';
import { manifestStatusTool } from './manifest-status-tool.js';
import { reportLeakTool } from './report-leak-tool.js';
import { requestSecretTool, requestStatusTool } from './request-secret-tool.js';
import { rotationStatusTool } from './rotation-status-tool.js';
import { setSecretTool } from './set-secret-tool.js';
import { setupProjectTool } from './setup-project-tool.js';
import type { CofferTool } from './tool.js';
import { verifySecretTool } from './verify-secret-tool.js';
import { writeEnvTool } from './write-env-tool.js';

export const TOOLS: readonly CofferTool[] = [
  setSecretTool,
  getSecretTool,
  listSecretsTool,
  verifySecretTool,
  generateSecretTool,
  writeEnvTool,
  manifestStatusTool,
  setupProjectTool,
  rotationStatusTool,
  reportLeakTool,
  requestSecretTool,
  requestStatusTool,
];
