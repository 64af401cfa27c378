package interop

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/apis/apiserver/install"
	apiserverv1beta1 "k8s.io/apiserver/pkg/apis/apiserver/v1beta1"
	apiservervalidation "k8s.io/apiserver/pkg/apis/apiserver/validation"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	authenticationcel "k8s.io/apiserver/pkg/authentication/cel"
	kubeoidc "k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"
	"sigs.k8s.io/yaml"
)

// structuredConfig is one of the example AuthenticationConfiguration files
// and the Kubernetes versions it is for.
type structuredConfig struct {
	file       string
	apiVersion string
	versions   string
}

// structuredConfigs are the example's AuthenticationConfiguration files:
// kube-apiserver serves apiserver.config.k8s.io/v1beta1 from 1.30 and v1
// from 1.34.
var structuredConfigs = []structuredConfig{
	{"authentication-config-v1beta1.yaml", "apiserver.config.k8s.io/v1beta1", "Kubernetes 1.30 to 1.33"},
	{"authentication-config-v1.yaml", "apiserver.config.k8s.io/v1", "Kubernetes 1.34 and later"},
}

// apiServerScheme returns the apiserver.config.k8s.io scheme of a
// kube-apiserver: all versions k8s.io/apiserver knows (1.34 and later), or
// only v1beta1 (1.30 to 1.33, which do not serve v1).
func apiServerScheme(onlyV1beta1 bool) (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if !onlyV1beta1 {
		install.Install(scheme)
		return scheme, nil
	}
	if err := apiserver.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apiserverv1beta1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, scheme.SetVersionPriority(apiserverv1beta1.SchemeGroupVersion)
}

// decodeAuthenticationConfiguration decodes an AuthenticationConfiguration
// file as kube-apiserver's --authentication-config does: strictly, through
// the apiserver.config.k8s.io scheme, into the internal type.
func decodeAuthenticationConfiguration(scheme *runtime.Scheme, data []byte) (*apiserver.AuthenticationConfiguration, error) {
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	obj, err := runtime.Decode(codecs.UniversalDecoder(), data)
	if err != nil {
		return nil, err
	}
	cfg, ok := obj.(*apiserver.AuthenticationConfiguration)
	if !ok {
		return nil, fmt.Errorf("expected AuthenticationConfiguration, got %T", obj)
	}
	return cfg, nil
}

// loadAuthenticationConfiguration decodes with the scheme of a current
// kube-apiserver.
func loadAuthenticationConfiguration(data []byte) (*apiserver.AuthenticationConfiguration, error) {
	scheme, err := apiServerScheme(false)
	if err != nil {
		return nil, err
	}
	return decodeAuthenticationConfiguration(scheme, data)
}

// validateAuthenticationConfiguration validates as kube-apiserver does at
// start-up, compiling the CEL expressions.
func validateAuthenticationConfiguration(cfg *apiserver.AuthenticationConfiguration) error {
	return apiservervalidation.ValidateAuthenticationConfiguration(authenticationcel.NewDefaultCompiler(), cfg, nil).ToAggregate()
}

// loadExampleAuthenticationConfiguration loads and validates an example
// file as shipped.
func loadExampleAuthenticationConfiguration(t *testing.T, file string) *apiserver.AuthenticationConfiguration {
	t.Helper()
	data, err := os.ReadFile(examplePath("kubernetes", file))
	require.NoError(t, err)
	cfg, err := loadAuthenticationConfiguration(data)
	require.NoError(t, err, file)
	require.NoError(t, validateAuthenticationConfiguration(cfg), "%s as shipped", file)
	return cfg
}

// exampleStructuredAuthenticator starts the authenticator of an example
// AuthenticationConfiguration file, pointed at the live Dex and its CA;
// everything else is as shipped.
func exampleStructuredAuthenticator(t *testing.T, st *stack, file string) authenticator.Token {
	t.Helper()
	cfg := loadExampleAuthenticationConfiguration(t, file)
	require.Len(t, cfg.JWT, 1)
	require.Equal(t, exampleIssuer, cfg.JWT[0].Issuer.URL)
	cfg.JWT[0].Issuer.URL = st.Issuer
	cfg.JWT[0].Issuer.CertificateAuthority = string(st.CAPEM)
	// With a configuration file kube-apiserver accepts every algorithm it
	// knows.
	return startKubeAuthenticator(t, cfg, kubeoidc.AllValidSigningAlgorithms())
}

// Each AuthenticationConfiguration file is read by the kube-apiserver
// versions it is for, and refused by those it is not for; the two files say
// the same.
func TestAuthenticationConfigurationVersions(t *testing.T) {
	current, err := apiServerScheme(false)
	require.NoError(t, err)
	before134, err := apiServerScheme(true)
	require.NoError(t, err)

	loaded := make(map[string]*apiserver.AuthenticationConfiguration)
	for _, sc := range structuredConfigs {
		t.Run(sc.file, func(t *testing.T) {
			data, err := os.ReadFile(examplePath("kubernetes", sc.file))
			require.NoError(t, err)
			var meta runtime.TypeMeta
			require.NoError(t, yaml.Unmarshal(data, &meta))
			assert.Equal(t, sc.apiVersion, meta.APIVersion)
			assert.Equal(t, "AuthenticationConfiguration", meta.Kind)

			cfg, err := decodeAuthenticationConfiguration(current, data)
			require.NoError(t, err, "kube-apiserver 1.34 and later")
			require.NoError(t, validateAuthenticationConfiguration(cfg))
			loaded[sc.file] = cfg

			_, err = decodeAuthenticationConfiguration(before134, data)
			if sc.apiVersion == "apiserver.config.k8s.io/v1" {
				assert.Error(t, err, "kube-apiserver 1.30 to 1.33 do not serve v1")
			} else {
				require.NoError(t, err, "kube-apiserver 1.30 to 1.33")
			}
		})
	}
	require.Len(t, loaded, len(structuredConfigs))
	assert.Equal(t, loaded[structuredConfigs[0].file], loaded[structuredConfigs[1].file], "the two files configure the same")
}
