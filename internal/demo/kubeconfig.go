package demo

import (
	"strings"
)

// kubeconfig returns a kubeconfig user entry that signs kubectl in through
// Dex with kubelogin's exec plugin (kubectl oidc-login), as the demo app
// shows it.
func kubeconfig(issuer string) string {
	lines := []string{
		"# kubectl signs in through Dex with kubelogin (https://github.com/int128/kubelogin).",
		"# The cluster's kube-apiserver trusts the same issuer:",
		"#   --oidc-issuer-url=" + issuer + "   (HTTPS for a real cluster)",
		"#   --oidc-client-id=" + kubeloginClientID,
		"#   --oidc-username-claim=email --oidc-groups-claim=groups",
		"apiVersion: v1",
		"kind: Config",
		"users:",
		"  - name: dex-spectro-demo",
		"    user:",
		"      exec:",
		"        apiVersion: client.authentication.k8s.io/v1",
		"        command: kubectl",
		"        args:",
		"          - oidc-login",
		"          - get-token",
		"          - --oidc-issuer-url=" + issuer,
		"          - --oidc-client-id=" + kubeloginClientID,
		"          - --oidc-extra-scope=email",
		"          - --oidc-extra-scope=profile",
		"          - --oidc-extra-scope=groups",
		"          - --oidc-extra-scope=offline_access",
		"        interactiveMode: IfAvailable",
	}
	return strings.Join(lines, "\n") + "\n"
}
