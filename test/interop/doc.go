// Package interop proves dex-spectro against the relying parties it is built
// for, each run for real against a live `dex-spectro serve` (in process, over
// HTTPS with a test CA) and the Palette emulator of spectrotest. Most tests
// run the example deployment itself: examples/config.yaml with only URLs,
// secrets and file paths replaced, behind a TLS-terminating ingress.
//
//   - kube-apiserver's own OIDC authenticator
//     (k8s.io/apiserver/plugin/pkg/authenticator/token/oidc), configured from
//     examples/kubernetes/apiserver-flags.txt the way kube-apiserver converts
//     its --oidc-* flags, and from examples/kubernetes/authentication-config-*.yaml
//     the way it loads structured authentication, with the bindings of
//     examples/kubernetes/rbac.yaml;
//   - openid-client 5, the library of Backstage's OIDC auth provider, run by
//     Node.js from test/interop/backstage with the provider block of
//     examples/backstage/app-config.yaml;
//   - the TypeScript compiler and the @backstage/* packages of
//     test/interop/backstage-app, type-checking examples/backstage/apis.ts;
//   - several Palette tenants behind one Dex, each with its own connector.
//
// The package has tests only; docs/kubernetes.md, docs/backstage.md and the Several tenants section of docs/configuration.md describe what they exercise.
package interop
