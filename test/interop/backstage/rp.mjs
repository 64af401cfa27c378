// A relying party of Dex built the way Backstage's OIDC auth provider
// (@backstage/plugin-auth-backend-module-oidc-provider) builds its own: with
// openid-client 5, its Issuer discovery, its Client and its passport Strategy,
// configured from the provider's app-config block.
//
// The Go test in test/interop starts it and plays the browser:
//
//   env OIDC_PROVIDER_CONFIG  the auth.providers.oidc.<environment> block as JSON
//                             (metadataUrl, clientId, clientSecret, callbackUrl,
//                             prompt, additionalScopes, tokenEndpointAuthMethod,
//                             tokenSignedResponseAlg, timeout)
//   stdout line 1             {"authorizationUrl": "..."}  where the browser starts
//   stdin line 1              the callback URL the browser was redirected to
//   stdout line 2             {"signIn": {...}, "refresh": {...}}
//
// Errors go to stderr and end the process with status 1.

import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Issuer, Strategy, custom } from 'openid-client';

const requiredScopes = ['openid', 'profile', 'email'];
const defaultTimeoutMs = 10000;

function readConfig() {
  const raw = process.env.OIDC_PROVIDER_CONFIG;
  if (!raw) {
    throw new Error('OIDC_PROVIDER_CONFIG is not set');
  }
  const config = JSON.parse(raw);
  for (const key of ['metadataUrl', 'clientId', 'clientSecret', 'callbackUrl']) {
    if (typeof config[key] !== 'string' || config[key] === '') {
      throw new Error(`OIDC_PROVIDER_CONFIG: ${key} is required`);
    }
  }
  if ('scope' in config) {
    throw new Error('OIDC_PROVIDER_CONFIG: "scope" is not an option of the oidc provider; use additionalScopes');
  }
  return config;
}

// additionalScopes may be a list or a string of space- or comma-separated scopes.
function scopesOf(config) {
  let extra = config.additionalScopes ?? [];
  if (typeof extra === 'string') {
    extra = extra.split(/[\s,]+/);
  }
  return [...new Set([...requiredScopes, ...extra.filter(Boolean)])].join(' ');
}

// authenticate runs one pass of the strategy, as passport does for a request:
// it resolves with the redirect or the authenticated user, and rejects on
// failure.
function authenticate(strategy, req, options) {
  return new Promise((resolve, reject) => {
    const pass = Object.create(strategy);
    pass.redirect = (url) => resolve({ redirect: url });
    pass.success = (user, info) => resolve({ user, info });
    pass.fail = (failure) =>
      reject(failure instanceof Error ? failure : new Error(`authentication failed: ${JSON.stringify(failure)}`));
    pass.error = reject;
    pass.authenticate(req, options);
  });
}

function emit(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function readLine() {
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve, reject) => {
    lines.once('line', (line) => {
      resolve(line.trim());
      lines.close();
    });
    lines.once('close', () => reject(new Error('standard input closed before the callback URL arrived')));
  });
}

function describeTokenSet(tokenset, userinfo) {
  return {
    idToken: tokenset.id_token,
    claims: tokenset.claims(),
    tokenType: tokenset.token_type,
    scope: tokenset.scope,
    expiresIn: tokenset.expires_in,
    hasAccessToken: Boolean(tokenset.access_token),
    hasRefreshToken: Boolean(tokenset.refresh_token),
    userinfo,
  };
}

async function main() {
  const config = readConfig();
  const httpOptions = (_url, options) => ({ ...options, timeout: config.timeout ?? defaultTimeoutMs });
  Issuer[custom.http_options] = httpOptions;

  const issuer = await Issuer.discover(config.metadataUrl);
  issuer[custom.http_options] = httpOptions;
  issuer.Client[custom.http_options] = httpOptions;
  const client = new issuer.Client({
    access_type: 'offline',
    client_id: config.clientId,
    client_secret: config.clientSecret,
    redirect_uris: [config.callbackUrl],
    response_types: ['code'],
    token_endpoint_auth_method: config.tokenEndpointAuthMethod || 'client_secret_basic',
    id_token_signed_response_alg: config.tokenSignedResponseAlg || 'RS256',
  });
  client[custom.http_options] = httpOptions;

  // Three parameters: the strategy fetches userinfo before calling it.
  const strategy = new Strategy({ client, passReqToCallback: false }, (tokenset, userinfo, done) => {
    done(undefined, { tokenset, userinfo }, { refreshToken: tokenset.refresh_token });
  });

  // The server-side session that holds state, nonce and PKCE verifier
  // between the two requests.
  const session = {};
  const startOptions = {
    scope: scopesOf(config),
    state: randomBytes(16).toString('hex'),
    nonce: randomBytes(16).toString('base64'),
  };
  const prompt = config.prompt || 'none';
  if (prompt !== 'auto') {
    startOptions.prompt = prompt;
  }
  const start = await authenticate(
    strategy,
    { method: 'GET', url: '/api/auth/oidc/start?env=production', session },
    startOptions,
  );
  if (!start.redirect) {
    throw new Error('the strategy did not redirect to the authorization endpoint');
  }
  emit({ authorizationUrl: start.redirect });

  const callback = new URL(await readLine());
  const signedIn = await authenticate(
    strategy,
    { method: 'GET', url: callback.pathname + callback.search, session },
    {},
  );
  const { tokenset, userinfo } = signedIn.user;
  const { refreshToken } = signedIn.info;
  if (!refreshToken) {
    throw new Error('no refresh token: Backstage sessions could not be refreshed');
  }

  // What Backstage's refresh does: a refresh_token grant (whose ID token
  // openid-client validates), then userinfo with the new access token.
  const refreshed = await client.refresh(refreshToken);
  if (!refreshed.access_token) {
    throw new Error('refresh returned no access token');
  }
  const refreshedUserinfo = await client.userinfo(refreshed.access_token);

  emit({
    signIn: describeTokenSet(tokenset, userinfo),
    refresh: {
      ...describeTokenSet(refreshed, refreshedUserinfo),
      refreshTokenRotated: Boolean(refreshed.refresh_token) && refreshed.refresh_token !== refreshToken,
    },
  });
}

main().catch((err) => {
  const details = [err?.error, err?.error_description].filter(Boolean).join(': ');
  process.stderr.write(`rp.mjs: ${err?.message ?? err}${details ? ` (${details})` : ''}\n`);
  process.exit(1);
});
