/**
 * Backups of a whole vault (docs/format.md section 9): snapshot, age encryption, check and
 * restore. `coffer backup` and `coffer serve --backup-every` are built on these.
 */
export {
  type BackupDecryption,
  type BackupEncryption,
  decryptBackup,
  encryptBackup,
} from './age.js';
export {
  type BackupCheck,
  checkSnapshot,
  createBackup,
  type RestoreResult,
  restoreSnapshot,
  takeSnapshot,
} from './backup.js';
export {
  type BackupHeader,
  decodeSnapshot,
  encodeSnapshot,
  type Snapshot,
} from './format.js';
export { scheduleBackups, takeScheduledBackup } from './scheduled.js';
