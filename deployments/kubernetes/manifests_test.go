// Package kubernetes tests the Kubernetes manifests in this directory: each
// document decodes strictly into its Kubernetes API type (an unknown or
// misspelt field fails), and the manifests fit together. It is a module of
// its own so that the Kubernetes API packages stay out of authmesh's
// dependency graph; scripts/test.sh runs it.
package kubernetes

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// manifests holds every object of every manifest, by kind.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	secrets     map[string]*corev1.Secret
	pdbs        []*policyv1.PodDisruptionBudget
}

// load decodes every document of every *.yaml file here strictly into the
// API type its apiVersion and kind name.
func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("manifests: %v %v", files, err)
	}
	m := manifests{secrets: map[string]*corev1.Secret{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			var obj any
			switch tm.APIVersion + "/" + tm.Kind {
			case "apps/v1/Deployment":
				d := &appsv1.Deployment{}
				m.deployments, obj = append(m.deployments, d), d
			case "v1/Service":
				s := &corev1.Service{}
				m.services, obj = append(m.services, s), s
			case "v1/Secret":
				obj = &corev1.Secret{}
			case "policy/v1/PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				m.pdbs, obj = append(m.pdbs, p), p
			default:
				t.Fatalf("%s document %d: unexpected kind %s %s", f, i+1, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i+1, tm.Kind, err)
			}
			if s, ok := obj.(*corev1.Secret); ok {
				m.secrets[s.Name] = s
			}
		}
	}
	return m
}

// TestManifestsDecodeStrictly: every document is a known Kubernetes type
// with no unknown field, and the expected objects are there.
func TestManifestsDecodeStrictly(t *testing.T) {
	m := load(t)
	if len(m.deployments) < 2 || len(m.services) < 2 || len(m.pdbs) < 1 || len(m.secrets) < 1 {
		t.Fatalf("got %d deployments, %d services, %d PDBs, %d Secrets; want the auth service's and a sample microservice's", len(m.deployments), len(m.services), len(m.pdbs), len(m.secrets))
	}
}

// TestManifestsFitTogether: selectors select their pods, each container
// requests resources and runs as non-root with probes on /readyz and
// /livez, secrets reach containers only as files from a Secret that has
// the key, and the auth service has the Secret, Service and PDB it needs.
func TestManifestsFitTogether(t *testing.T) {
	m := load(t)
	var auth *appsv1.Deployment
	for _, d := range m.deployments {
		t.Run(d.Name, func(t *testing.T) {
			checkDeployment(t, d, m.secrets)
		})
		if d.Name == "authmesh-auth" {
			auth = d
		}
	}
	if auth == nil {
		t.Fatal("no authmesh-auth Deployment")
	}
	c := auth.Spec.Template.Spec.Containers[0]
	for _, want := range []string{"DATABASE_URL_FILE", "KEY_ENCRYPTION_SECRET_FILE"} {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == want }) {
			t.Errorf("the auth service gets no %s", want)
		}
	}
	pods := labels.Set(auth.Spec.Template.Labels)
	covered := false
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatalf("PDB %s: %v", p.Name, err)
		}
		covered = covered || sel.Matches(pods)
		if p.Spec.MinAvailable == nil && p.Spec.MaxUnavailable == nil {
			t.Errorf("PDB %s sets neither minAvailable nor maxUnavailable", p.Name)
		}
	}
	if !covered {
		t.Error("no PodDisruptionBudget selects the auth service's pods")
	}
	for _, s := range m.services {
		sel := labels.SelectorFromSet(s.Spec.Selector)
		matched := slices.ContainsFunc(m.deployments, func(d *appsv1.Deployment) bool {
			return len(s.Spec.Selector) > 0 && sel.Matches(labels.Set(d.Spec.Template.Labels))
		})
		if !matched {
			t.Errorf("Service %s selects no Deployment's pods", s.Name)
		}
	}
}

// secretVariables hold a secret: they must come from a file (NAME_FILE).
var secretVariables = []string{"JWT_SECRET", "KEY_ENCRYPTION_SECRET", "REDIS_PASSWORD", "DATABASE_URL", "FEED_TOKEN"}

func checkDeployment(t *testing.T, d *appsv1.Deployment, secrets map[string]*corev1.Secret) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %v does not select the pod template's labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	pod := d.Spec.Template.Spec
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod does not require runAsNonRoot")
	}
	// Where each secret volume is mounted, and the keys it holds there.
	files := map[string]bool{}
	for _, c := range pod.Containers {
		for _, vm := range c.VolumeMounts {
			for _, v := range pod.Volumes {
				if v.Name != vm.Name || v.Secret == nil {
					continue
				}
				s := secrets[v.Secret.SecretName]
				if s == nil {
					t.Errorf("volume %s: no Secret %s in the manifests", v.Name, v.Secret.SecretName)
					continue
				}
				keys := slices.Collect(maps.Keys(s.StringData))
				keys = slices.AppendSeq(keys, maps.Keys(s.Data))
				paths := map[string]string{}
				for _, k := range keys {
					paths[k] = k
				}
				if len(v.Secret.Items) > 0 {
					paths = map[string]string{}
					for _, it := range v.Secret.Items {
						if !slices.Contains(keys, it.Key) {
							t.Errorf("volume %s: Secret %s has no key %s", v.Name, s.Name, it.Key)
						}
						paths[it.Key] = it.Path
					}
				}
				for _, p := range paths {
					files[strings.TrimSuffix(vm.MountPath, "/")+"/"+p] = true
				}
			}
		}
	}
	for _, c := range pod.Containers {
		t.Run(c.Name, func(t *testing.T) {
			if c.Image == "" {
				t.Error("no image")
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
					t.Errorf("no %s request", r)
				}
			}
			// Readiness fails only for what this replica alone suffers,
			// liveness only when the process cannot serve: neither fails
			// on every replica at once when a shared dependency is down.
			if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
				t.Errorf("readiness probe %+v: want GET /readyz", p)
			}
			if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/livez" {
				t.Errorf("liveness probe %+v: want GET /livez", p)
			}
			if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Error("want allowPrivilegeEscalation: false")
			}
			for _, e := range c.Env {
				if slices.Contains(secretVariables, e.Name) {
					t.Errorf("%s is an environment variable; give it as a file (%s_FILE)", e.Name, e.Name)
				}
				if strings.HasSuffix(e.Name, "_FILE") && !files[e.Value] {
					t.Errorf("%s=%s names no file of a mounted Secret (mounted: %v)", e.Name, e.Value, files)
				}
			}
		})
	}
}
