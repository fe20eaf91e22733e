import { describe, expect, it } from 'vitest';
import { commentDescriptions, descriptionFromComment, isTitleLine } from './comments.js';

describe('descriptions from .env comments', () => {
  it('takes the comment block right above a variable', () => {
    const text = '# Stripe API key\n# for payment processing\nSTRIPE_API_KEY=sk\n\n# x\n\nB=1\n';
    expect(Object.fromEntries(commentDescriptions(text))).toEqual({
      STRIPE_API_KEY: 'Stripe API key for payment processing',
    });
  });

  it('leaves out commented-out variables: their values are never a description', () => {
    const text = [
      '# Stripe API key for payment processing',
      '# STRIPE_API_KEY=sk_live_OLDPRODKEY998877',
      'STRIPE_API_KEY=sk_test_new',
      '',
      '# DATABASE_URL=postgres://admin:Sup3rS3cret@prod-db/app',
      '#export  REDIS_URL = redis://:pw-Old1@cache',
      'DATABASE_URL=postgres://localhost/app',
      '',
      '# Note: rotate it monthly',
      'WEBHOOK_SECRET=whsec_1',
      '',
    ].join('\n');
    const found = Object.fromEntries(commentDescriptions(text));
    expect(found).toEqual({
      STRIPE_API_KEY: 'Stripe API key for payment processing',
      WEBHOOK_SECRET: 'Note: rotate it monthly',
    });
    for (const old of ['OLDPRODKEY', 'Sup3rS3cret', 'pw-Old1'])
      expect(JSON.stringify(found)).not.toContain(old);
  });

  it('does not merge a section header into the description below it', () => {
    const text = [
      '# API Keys',
      '# OpenAI API key for the chat assistant',
      'OPENAI_API_KEY=sk-1',
      'OPENAI_BASE_URL=https://api.openai.com/v1',
      '',
      '# ===== Payments =====',
      '# Stripe API key for payment processing',
      'STRIPE_API_KEY=sk_live_1',
      '',
      '## Mail',
      'SENDGRID_API_KEY=SG.1',
      '',
    ].join('\n');
    expect(Object.fromEntries(commentDescriptions(text))).toEqual({
      OPENAI_API_KEY: 'OpenAI API key for the chat assistant',
      STRIPE_API_KEY: 'Stripe API key for payment processing',
    });
  });

  it("reads the seed's .env.example headers as headers, not as descriptions", () => {
    // seeds/004: each section title sits right above its variables.
    const text = [
      '# API Keys',
      'OPENAI_API_KEY=sk-...your-key-here...',
      'OPENAI_BASE_URL=https://api.openai.com/v1',
      '',
      '# Security',
      'SECRET_KEY=generate-a-32-char-random-string',
      'ENCRYPTION_KEY=generate-a-32-byte-fernet-key',
      '',
      '# Database',
      'DATABASE_URL=postgresql://user:password@localhost:5432/agents',
      '',
      '# Storage (MinIO)',
      'MINIO_ROOT_USER=your-minio-user',
      'MINIO_ROOT_PASSWORD=your-minio-password',
      'S3_ENDPOINT_URL=http://localhost:9000',
      '',
    ].join('\n');
    // A title above a single variable is all the file says about it: kept (and refused by
    // the description rule, which then asks for a real one).
    expect(Object.fromEntries(commentDescriptions(text))).toEqual({ DATABASE_URL: 'Database' });
  });

  it('tells titles from sentences', () => {
    for (const t of ['API Keys', 'Storage (MinIO)', 'Security', 'Database:', 'Storage for Uploads'])
      expect(isTitleLine(t), t).toBe(true);
    for (const t of [
      'Stripe API key for payment processing',
      'used by the worker',
      'PostgreSQL production database password.',
      'One Two Three Four Five Six',
      '',
    ])
      expect(isTitleLine(t), t).toBe(false);
    expect(descriptionFromComment(['Stripe API Key', 'for payment processing'])).toBe(
      'Stripe API Key for payment processing',
    );
    expect(descriptionFromComment(['-----', 'Database', '-----'])).toBeUndefined();
    expect(descriptionFromComment(['Database'], true)).toBeUndefined();
    expect(descriptionFromComment(['Database'], false)).toBe('Database');
  });
});
