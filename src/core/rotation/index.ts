export {
  formatRotationPolicy,
  parseRotationPolicy,
  type RotationPolicy,
  readRotationPolicy,
} from './policy.js';
