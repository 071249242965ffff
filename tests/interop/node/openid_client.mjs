// openid-client v6 (panva) as a confidential RP of idgate: every check is the library's own,
// plus a few the scenario adds (named "check failed: …").
import * as client from 'openid-client';
import { check, run, signIn, step } from './harness.mjs';

async function discover(cfg) {
  return step('discovery', () =>
    client.discovery(
      new URL(cfg.issuer),
      cfg.client_id,
      undefined,
      client.ClientSecretBasic(cfg.client_secret),
      // idgate runs on http://127.0.0.1 in the tests: allow plain http, nothing else changes.
      { execute: [client.allowInsecureRequests] },
    ),
  );
}

/** The authorization code flow with PKCE, state and nonce; the token endpoint response. */
async function codeFlow(cfg, config, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await step('buildAuthorizationUrl', async () =>
    client.buildAuthorizationUrl(config, {
      redirect_uri: cfg.redirect_uri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    }),
  );
  const callback = await step('sign in', () => signIn(url));
  const tokens = await step('authorizationCodeGrant', () =>
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    }),
  );
  return { tokens, callback };
}

const scenarios = {
  async code(cfg) {
    const config = await discover(cfg);
    const { tokens } = await codeFlow(cfg, config);
    const claims = tokens.claims();
    check(claims.nonce, 'the ID Token carries the nonce');
    check(tokens.refresh_token, 'a confidential client with the refresh_token grant gets one');
    const refreshed = await step('refreshTokenGrant', () =>
      client.refreshTokenGrant(config, tokens.refresh_token),
    );
    check(refreshed.refresh_token !== tokens.refresh_token, 'the refresh token is rotated');
    check(refreshed.access_token !== tokens.access_token, 'a new access token is issued');
    const again = refreshed.claims();
    check(again === undefined || again.sub === claims.sub, 'the refreshed ID Token keeps sub');
    const replay = await step('refreshTokenGrant (reuse of the rotated-out token)', async () => {
      try {
        await client.refreshTokenGrant(config, tokens.refresh_token);
        return null;
      } catch (err) {
        return err.error ?? err.code ?? err.message;
      }
    });
    check(replay === 'invalid_grant', `reusing a rotated refresh token fails (got ${replay})`);
    return {
      server: config.serverMetadata().issuer,
      claims,
      token_type: tokens.token_type,
      expires_in: tokens.expiresIn(),
      scope: tokens.scope,
      refreshed_claims: again ?? null,
    };
  },

  async hybrid(cfg) {
    const config = await discover(cfg);
    client.useCodeIdTokenResponseType(config);
    const { tokens, callback } = await codeFlow(cfg, config);
    return {
      response_in_fragment: callback.hash.includes('id_token='),
      claims: tokens.claims(),
    };
  },

  async userinfo(cfg) {
    const config = await discover(cfg);
    const { tokens } = await codeFlow(cfg, config);
    const sub = tokens.claims().sub;
    const userinfo = await step('fetchUserInfo', () =>
      client.fetchUserInfo(config, tokens.access_token, sub),
    );
    const wrong = await step('fetchUserInfo (with the wrong expected subject)', async () => {
      try {
        await client.fetchUserInfo(config, tokens.access_token, `${sub}-not`);
        return null;
      } catch (err) {
        return err.code ?? err.message;
      }
    });
    check(wrong !== null, 'openid-client refuses a UserInfo response for another subject');
    return { sub, userinfo };
  },

  async introspection(cfg) {
    const config = await discover(cfg);
    const { tokens } = await codeFlow(cfg, config);
    const access = await step('tokenIntrospection (access token)', () =>
      client.tokenIntrospection(config, tokens.access_token),
    );
    const refresh = await step('tokenIntrospection (refresh token)', () =>
      client.tokenIntrospection(config, tokens.refresh_token, {
        token_type_hint: 'refresh_token',
      }),
    );
    const bogus = await step('tokenIntrospection (unknown token)', () =>
      client.tokenIntrospection(config, 'not-a-token-idgate-issued'),
    );
    return { sub: tokens.claims().sub, access, refresh, bogus };
  },

  async revocation(cfg) {
    const config = await discover(cfg);
    const { tokens } = await codeFlow(cfg, config);
    await step('tokenRevocation (refresh token)', () =>
      client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' }),
    );
    const afterwards = await step('refreshTokenGrant (after revocation)', async () => {
      try {
        await client.refreshTokenGrant(config, tokens.refresh_token);
        return null;
      } catch (err) {
        return err.error ?? err.code ?? err.message;
      }
    });
    check(afterwards === 'invalid_grant', `a revoked refresh token is refused (got ${afterwards})`);
    await step('tokenRevocation (unknown token)', () =>
      client.tokenRevocation(config, 'not-a-token-idgate-issued'),
    );
    let introspected = null;
    if (config.serverMetadata().introspection_endpoint) {
      introspected = {
        refresh: await step('tokenIntrospection (the revoked refresh token)', () =>
          client.tokenIntrospection(config, tokens.refresh_token),
        ),
        access: await step('tokenIntrospection (an access token of the revoked family)', () =>
          client.tokenIntrospection(config, tokens.access_token),
        ),
      };
    }
    return { introspected };
  },

  async end_session(cfg) {
    const config = await discover(cfg);
    const { tokens } = await codeFlow(cfg, config);
    const state = client.randomState();
    const url = await step('buildEndSessionUrl', () =>
      client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: cfg.post_logout_redirect_uri,
        state,
      }),
    );
    return { url: url.href, state, sid: tokens.claims().sid };
  },
};

await run(scenarios);
