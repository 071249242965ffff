// node-oidc-provider configured like idgate's bench set-up, for bench/run. Not part of idgate.
//
// Environment: PORT (required), CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNT (the subject).
// Prints "ready <issuer>" on stdout once it listens.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const account = process.env.ACCOUNT ?? 'alice';

// An unbounded in-memory store with expiry (oidc-provider's built-in one is an LRU of 1000
// entries: a benchmark that mints thousands of codes up front would see them evicted).
// One Map for every model, a grant index for revokeByGrantId, a sweep for expired entries.
const entries = new Map(); // key -> { payload, expiresAt }
const grants = new Map(); // grantId -> Set(key)
const sessionUids = new Map(); // uid -> id
const now = () => Date.now();

function live(key) {
  const entry = entries.get(key);
  if (entry === undefined) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
    entries.delete(key);
    return undefined;
  }
  return entry;
}

setInterval(() => {
  const t = now();
  for (const [key, entry] of entries) {
    if (entry.expiresAt !== undefined && entry.expiresAt <= t) entries.delete(key);
  }
  for (const [grantId, keys] of grants) {
    for (const key of keys) if (!entries.has(key)) keys.delete(key);
    if (keys.size === 0) grants.delete(grantId);
  }
}, 10_000).unref();

class MemoryStore {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? now() + expiresIn * 1000 : undefined;
    entries.set(key, { payload, expiresAt });
    if (payload.grantId) {
      let keys = grants.get(payload.grantId);
      if (keys === undefined) grants.set(payload.grantId, (keys = new Set()));
      keys.add(key);
    }
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
  }

  async find(id) {
    return live(this.key(id))?.payload;
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const entry = live(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(now() / 1000);
  }

  async destroy(id) {
    entries.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) entries.delete(key);
    grants.delete(grantId);
  }
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'rs256' };

const configuration = {
  adapter: MemoryStore,
  clients: [
    {
      client_id: process.env.CLIENT_ID ?? 'bench',
      client_secret: process.env.CLIENT_SECRET ?? 'bench-secret',
      redirect_uris: [process.env.REDIRECT_URI ?? 'https://rp.example.test/cb'],
      response_types: ['code', 'code id_token'],
      grant_types: ['authorization_code', 'implicit', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['bench-cookie-signing-key-0123456789'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, email: `${account}@example.com`, email_verified: true };
      },
    };
  },
  features: {
    devInteractions: { enabled: true }, // drives the one login + consent the bench needs
    introspection: { enabled: true },
    userinfo: { enabled: true },
  },
  // Like idgate: a confidential client registered for refresh_token gets one, rotated each use.
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600, // codes are minted before the token workload runs
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    Interaction: 600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
