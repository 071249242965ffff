// node-oidc-provider for tests/client/test_node_oidc_provider.py: another certified OP, so that
// idgate.client is tested against more than idgate. Not part of idgate.
//
// Environment: PORT (required). One confidential client (CLIENT_ID / CLIENT_SECRET below);
// the interaction completes by itself: it logs in ACCOUNT and grants whatever is asked, so the
// test needs no pages. Prints "ready <issuer>" on stdout once it listens.
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const ACCOUNT = 'alice';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'node-rs256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'idgate-client-tests',
      client_secret: 'a-client-secret-of-at-least-32-characters',
      redirect_uris: ['https://rp.example/cb'],
      response_types: ['code', 'code id_token'],
      grant_types: ['authorization_code', 'implicit', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['idgate-client-tests-cookie-key-0123456789'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  responseTypes: ['code', 'code id_token', 'none'],
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, email: `${sub}@example.com`, email_verified: true, name: 'Alice' };
      },
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
});

// The interaction: log in ACCOUNT, then grant every scope and claim the request asks for.
async function interaction(req, res) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: ACCOUNT } };
  } else {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  } else {
    callback(req, res);
  }
}).listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
