/**
 * Seed 004's `.env.example` ("Secrets Management Guide", section ".env.example (commit this)"),
 * byte for byte as the seed shows it: placeholders and plain settings only, no real secret.
 */
export const SEED_004_ENV_EXAMPLE = `# API Keys
OPENAI_API_KEY=sk-...your-key-here...
OPENAI_BASE_URL=https://api.openai.com/v1

# Security
SECRET_KEY=generate-a-32-char-random-string
ENCRYPTION_KEY=generate-a-32-byte-fernet-key

# Database
DATABASE_URL=postgresql://user:password@localhost:5432/agents

# Storage (MinIO)
MINIO_ROOT_USER=your-minio-user
MINIO_ROOT_PASSWORD=your-minio-password
S3_ENDPOINT_URL=http://localhost:9000
`;
