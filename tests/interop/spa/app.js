// The SPA: oidc-client-ts with the settings the test serves at /config.json.
/* global oidc */
'use strict';

function show(id) {
  document.getElementById(id).hidden = false;
}

function fail(step, err) {
  const box = document.getElementById('error');
  box.textContent = `oidc-client-ts: ${step}: ${err && err.message ? err.message : err}`;
  box.dataset.step = step;
  show('error');
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  const settings = {
    authority: config.authority,
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    response_type: 'code',
    scope: 'openid email profile',
    loadUserInfo: config.load_userinfo,
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  };
  if (config.metadata) settings.metadata = config.metadata;
  const manager = new oidc.UserManager(settings);

  if (window.location.pathname === '/callback') {
    let user;
    try {
      user = await manager.signinRedirectCallback();
    } catch (err) {
      fail('signinRedirectCallback', err);
      return;
    }
    document.getElementById('name').textContent = user.profile.name || user.profile.sub;
    document.getElementById('profile').textContent = JSON.stringify(
      { profile: user.profile, scope: user.scope, token_type: user.token_type, has_access_token: Boolean(user.access_token) },
      null,
      2,
    );
    show('signed-in');
    return;
  }
  show('signed-out');
  document.getElementById('login').addEventListener('click', () => {
    manager.signinRedirect().catch((err) => fail('signinRedirect', err));
  });
}

main().catch((err) => fail('start', err));
