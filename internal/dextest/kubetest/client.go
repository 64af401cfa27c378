package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// fieldManager is the field manager of Apply.
	fieldManager = "kubetest"
	// requestTimeout bounds each request of the helpers below.
	requestTimeout = 30 * time.Second
)

// Config returns a client configuration for the server that trusts its CA
// and authenticates with a bearer token (none when token is empty).
func (s *APIServer) Config(token string) *rest.Config {
	return &rest.Config{
		Host:            s.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.CA.PEM},
		Timeout:         requestTimeout,
		QPS:             100,
		Burst:           200,
	}
}

// Client returns a clientset that authenticates with token.
func (s *APIServer) Client(t testing.TB, token string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(s.Config(token))
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	return cs
}

// Admin returns a clientset that authenticates as AdminUser.
func (s *APIServer) Admin(t testing.TB) kubernetes.Interface {
	t.Helper()
	return s.Client(t, s.AdminToken)
}

// Apply applies the objects of manifests (YAML documents separated by
// ---) as AdminUser, the way `kubectl apply --server-side --force-conflicts`
// does, in order. A namespaced object without a namespace goes to
// "default". The test fails at once on the first object refused.
func (s *APIServer) Apply(t testing.TB, manifests []byte) {
	t.Helper()
	cfg := s.Config(s.AdminToken)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))

	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for i := 1; ; i++ {
		var obj unstructured.Unstructured
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("apply: document %d: %v", i, err)
		}
		if len(obj.Object) == 0 {
			continue // an empty document
		}
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("apply: document %d (%s): %v", i, gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = metav1.NamespaceDefault
			}
			ri = dyn.Resource(mapping.Resource).Namespace(ns)
		}
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		_, err = ri.Apply(ctx, obj.GetName(), &obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
		cancel()
		if err != nil {
			t.Fatalf("apply: document %d (%s %s): %v", i, gvk.Kind, obj.GetName(), err)
		}
	}
}

// AggregateClusterRoles does once what kube-controller-manager's
// clusterrole-aggregation controller does all the time, which the kit does
// not run: it gives each ClusterRole with an aggregationRule the rules of
// the ClusterRoles its selectors match, until nothing changes. Without it
// the aggregated roles Kubernetes bootstraps (admin, edit, view) grant
// nothing.
func (s *APIServer) AggregateClusterRoles(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := aggregateClusterRoles(ctx, s.Admin(t)); err != nil {
		t.Fatalf("aggregate cluster roles: %v", err)
	}
}

// maxAggregationRounds bounds aggregateClusterRoles: roles that aggregate
// aggregated roles (admin takes edit, edit takes view) settle in a few.
const maxAggregationRounds = 10

func aggregateClusterRoles(ctx context.Context, cs kubernetes.Interface) error {
	for range maxAggregationRounds {
		list, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		changed := false
		for i := range list.Items {
			role := &list.Items[i]
			if role.AggregationRule == nil {
				continue
			}
			rules, err := aggregatedRules(role, list.Items)
			if err != nil {
				return err
			}
			if equality.Semantic.DeepEqual(rules, role.Rules) {
				continue
			}
			role.Rules = rules
			if _, err := cs.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update %s: %w", role.Name, err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return fmt.Errorf("still changing after %d rounds", maxAggregationRounds)
}

// aggregatedRules returns the rules of the roles that role's selectors
// match, in the order of roles, each rule once.
func aggregatedRules(role *rbacv1.ClusterRole, roles []rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role.Name, err)
		}
		for _, other := range roles {
			if other.Name == role.Name || !selector.Matches(labels.Set(other.Labels)) {
				continue
			}
			for _, r := range other.Rules {
				if !containsRule(rules, r) {
					rules = append(rules, r)
				}
			}
		}
	}
	return rules, nil
}

func containsRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, have := range rules {
		if equality.Semantic.DeepEqual(have, r) {
			return true
		}
	}
	return false
}

// ServiceAccountToken returns a token of the service account
// namespace/name, valid for an hour, as the kubelet mounts into a pod
// (TokenRequest, for the server's own audience).
func (s *APIServer) ServiceAccountToken(t testing.TB, namespace, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	expiry := int64(time.Hour / time.Second)
	tr, err := s.Admin(t).CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of service account %s/%s: %v", namespace, name, err)
	}
	return tr.Status.Token
}

// Kubeconfig returns a kubeconfig file for the server: its URL and CA, a
// bearer token, and namespace as the context's namespace (none when empty).
func (s *APIServer) Kubeconfig(t testing.TB, token, namespace string) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: s.CA.PEM}
	cfg.AuthInfos["kubetest"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "kubetest", Namespace: namespace}
	cfg.CurrentContext = "kubetest"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	return data
}
