// Frontend wiring for a Backstage app that signs users in through Dex (and so
// through SpectroCloud Palette) and lets the Kubernetes plugin call clusters
// with each user's own Dex ID token.
//
// Merge into packages/app/src/apis.ts: add the two factories of
// dexSpectroApis to the app's `apis` list, and offer dexSpectroSignInProvider
// on the SignInPage (packages/app/src/App.tsx):
//
//   components: {
//     SignInPage: props => (
//       <SignInPage {...props} auto provider={dexSpectroSignInProvider} />
//     ),
//   },
//
// The backend side is the `oidc` provider of app-config.yaml
// (auth.providers.oidc); its additionalScopes ask Dex for the audience of the
// clusters' client (audience:server:client_id:kubernetes), so the ID token
// this API returns is accepted by clusters configured with
// --oidc-client-id=kubernetes.

import {
  AnyApiFactory,
  ApiRef,
  BackstageIdentityApi,
  OpenIdConnectApi,
  ProfileInfoApi,
  SessionApi,
  configApiRef,
  createApiFactory,
  createApiRef,
  discoveryApiRef,
  googleAuthApiRef,
  microsoftAuthApiRef,
  oauthRequestApiRef,
} from '@backstage/core-plugin-api';
import { OAuth2 } from '@backstage/core-app-api';
import { SignInProviderConfig } from '@backstage/core-components';
import {
  KubernetesAuthProviders,
  kubernetesAuthProvidersApiRef,
} from '@backstage/plugin-kubernetes-react';

/**
 * The frontend API of Backstage's generic OIDC auth provider, pointed at Dex.
 * Backstage has no built-in API ref for it, so the app declares one.
 */
export const dexSpectroAuthApiRef: ApiRef<
  OpenIdConnectApi & ProfileInfoApi & BackstageIdentityApi & SessionApi
> = createApiRef({
  id: 'auth.dex-spectro',
});

/**
 * The key under which the Kubernetes plugin finds the OIDC auth API: the
 * clusters' `oidcTokenProvider` in app-config.yaml.
 */
export const dexSpectroKubernetesTokenProvider = 'oidc';

/** The sign-in page's button for signing in through Dex and Palette. */
export const dexSpectroSignInProvider: SignInProviderConfig = {
  id: 'dex-spectro-auth-provider',
  title: 'SpectroCloud Palette',
  message: 'Sign in with your Palette account',
  apiRef: dexSpectroAuthApiRef,
};

/** The API factories to add to the app's `apis` list. */
export const dexSpectroApis: AnyApiFactory[] = [
  // The OIDC auth API. The provider id must be the key of the backend's
  // provider block (auth.providers.oidc), whose routes are
  // /api/auth/oidc/start, /api/auth/oidc/handler/frame and
  // /api/auth/oidc/refresh.
  createApiFactory({
    api: dexSpectroAuthApiRef,
    deps: {
      discoveryApi: discoveryApiRef,
      oauthRequestApi: oauthRequestApiRef,
      configApi: configApiRef,
    },
    factory: ({ discoveryApi, oauthRequestApi, configApi }) =>
      OAuth2.create({
        configApi,
        discoveryApi,
        oauthRequestApi,
        provider: {
          id: 'oidc',
          title: 'SpectroCloud Palette',
          // Replace with the app's icon for the provider.
          icon: () => null,
        },
        environment: configApi.getOptionalString('auth.environment'),
        // The backend adds the scopes of its additionalScopes (groups,
        // federated:id, offline_access and the clusters' audience).
        defaultScopes: ['openid', 'profile', 'email'],
      }),
  }),

  // The Kubernetes plugin's auth providers, with the OIDC auth API above
  // for clusters whose authProvider is `oidc` and whose oidcTokenProvider is
  // dexSpectroKubernetesTokenProvider. The plugin then sends the user's Dex
  // ID token to those clusters.
  createApiFactory({
    api: kubernetesAuthProvidersApiRef,
    deps: {
      googleAuthApi: googleAuthApiRef,
      microsoftAuthApi: microsoftAuthApiRef,
      dexSpectroAuthApi: dexSpectroAuthApiRef,
    },
    factory: ({ googleAuthApi, microsoftAuthApi, dexSpectroAuthApi }) =>
      new KubernetesAuthProviders({
        googleAuthApi,
        microsoftAuthApi,
        oidcProviders: {
          [dexSpectroKubernetesTokenProvider]: dexSpectroAuthApi,
        },
      }),
  }),
];
