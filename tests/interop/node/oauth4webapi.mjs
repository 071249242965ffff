// oauth4webapi (panva) as a confidential RP of idgate: its strict response checks on discovery,
// the authorization response, the token response and the ID Token, and its hybrid validators.
import * as oauth from 'oauth4webapi';
import { check, run, signIn, step } from './harness.mjs';

// idgate runs on http://127.0.0.1 in the tests: allow plain http, nothing else changes.
const insecure = { [oauth.allowInsecureRequests]: true };

async function setUp(cfg) {
  const issuer = new URL(cfg.issuer);
  const as = await step('discoveryRequest/processDiscoveryResponse', async () =>
    oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
    ),
  );
  const client = { client_id: cfg.client_id };
  return { as, client, auth: oauth.ClientSecretBasic(cfg.client_secret) };
}

async function authorizationUrl(cfg, as, client, responseType, { state }) {
  const verifier = oauth.generateRandomCodeVerifier();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', cfg.redirect_uri);
  url.searchParams.set('response_type', responseType);
  url.searchParams.set('scope', 'openid email');
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('nonce', nonce);
  if (state !== undefined) url.searchParams.set('state', state);
  return { url, verifier, nonce };
}

/** Redeem the code; the ID Token claims, after oauth4webapi checked the response strictly. */
async function redeem(cfg, { as, client, auth }, params, verifier, nonce) {
  const response = await step('authorizationCodeGrantRequest', () =>
    oauth.authorizationCodeGrantRequest(as, client, auth, params, cfg.redirect_uri, verifier, {
      ...insecure,
    }),
  );
  const result = await step('processAuthorizationCodeResponse', () =>
    oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    }),
  );
  await step('validateApplicationLevelSignature (ID Token signature, JWKS)', () =>
    oauth.validateApplicationLevelSignature(as, response, insecure),
  );
  return { result, claims: oauth.getValidatedIdTokenClaims(result) };
}

const scenarios = {
  async code(cfg) {
    const rp = await setUp(cfg);
    const state = oauth.generateRandomState();
    const { url, verifier, nonce } = await authorizationUrl(cfg, rp.as, rp.client, 'code', {
      state,
    });
    const callback = await step('sign in', () => signIn(url));
    const params = await step('validateAuthResponse', () =>
      oauth.validateAuthResponse(rp.as, rp.client, callback, state),
    );
    const { result, claims } = await redeem(cfg, rp, params, verifier, nonce);
    const replay = await step('authorizationCodeGrantRequest (the same code again)', async () => {
      const response = await oauth.authorizationCodeGrantRequest(
        rp.as,
        rp.client,
        rp.auth,
        params,
        cfg.redirect_uri,
        verifier,
        insecure,
      );
      try {
        await oauth.processAuthorizationCodeResponse(rp.as, rp.client, response);
        return null;
      } catch (err) {
        check(err instanceof oauth.ResponseBodyError, `a spec-shaped error body (${err})`);
        return err.error;
      }
    });
    check(replay === 'invalid_grant', `a code redeemed twice is refused (got ${replay})`);
    return {
      iss_parameter: callback.searchParams.get('iss'),
      claims,
      token_type: result.token_type,
      expires_in: result.expires_in,
    };
  },

  /** Core §3.3.2.8-12 hybrid response checks: signature, nonce, c_hash, iss, state. */
  async hybrid(cfg) {
    const rp = await setUp(cfg);
    const state = oauth.generateRandomState();
    const { url, verifier, nonce } = await authorizationUrl(
      cfg,
      rp.as,
      rp.client,
      'code id_token',
      { state },
    );
    const callback = await step('sign in', () => signIn(url));
    const params = await step('validateCodeIdTokenResponse', () =>
      oauth.validateCodeIdTokenResponse(rp.as, rp.client, callback, nonce, state, undefined, {
        ...insecure,
      }),
    );
    const { claims } = await redeem(cfg, rp, params, verifier, nonce);
    return { claims };
  },

  /** The ID Token as a detached signature (FAPI 1.0 Advanced §5.2.2.1): s_hash when state. */
  async detached(cfg) {
    const rp = await setUp(cfg);
    const state = cfg.with_state ? oauth.generateRandomState() : undefined;
    const { url, verifier, nonce } = await authorizationUrl(
      cfg,
      rp.as,
      rp.client,
      'code id_token',
      { state },
    );
    const callback = await step('sign in', () => signIn(url));
    const params = await step('validateDetachedSignatureResponse', () =>
      oauth.validateDetachedSignatureResponse(
        rp.as,
        rp.client,
        callback,
        nonce,
        state ?? oauth.expectNoState,
        undefined,
        insecure,
      ),
    );
    const { claims } = await redeem(cfg, rp, params, verifier, nonce);
    return { claims };
  },
};

await run(scenarios);
