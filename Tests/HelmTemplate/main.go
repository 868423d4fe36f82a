// helm-template renders a Helm chart the way `helm template` does, for tests on machines without
// the helm binary: Go text/template with the sprig functions and Helm's own (toYaml, fromYaml,
// toJson, fromJson, include, tpl, required, lookup), values.yaml coalesced with -f files, the
// .Release/.Chart/.Capabilities/.Template objects, `# Source:` headers and Helm's install order.
//
// Builds offline in GOPATH mode against Debian's Go packages:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-template ./Tests/HelmTemplate
//
// Usage: helm-template [--namespace NS] [--name RELEASE] [--include-crds] [-f values.yaml]... CHART_DIR
//
// Deliberately missing: --set, .Files, subcharts, lookup against a live cluster (it returns an
// empty map, as `helm template` does). The chart must not rely on them.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yaml "gopkg.in/yaml.v2"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	namespace, release, includeCRDs := "default", "release-name", false
	var valueFiles stringList
	var chartDir string
	for i := 0; i < len(args); i++ {
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", args[i])
			}
			i++
			return args[i], nil
		}
		var err error
		switch args[i] {
		case "--namespace", "-n":
			namespace, err = next()
		case "--name":
			release, err = next()
		case "--include-crds":
			includeCRDs = true
		case "-f", "--values":
			var file string
			file, err = next()
			valueFiles = append(valueFiles, file)
		default:
			if strings.HasPrefix(args[i], "-") || chartDir != "" {
				return fmt.Errorf("unexpected argument %q", args[i])
			}
			chartDir = args[i]
		}
		if err != nil {
			return err
		}
	}
	if chartDir == "" {
		return errors.New("usage: helm-template [--namespace NS] [--name RELEASE] [--include-crds] [-f values.yaml]... CHART_DIR")
	}

	chart, err := readYAMLFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAMLFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil && !os.IsNotExist(errors.Unwrap(err)) {
		return err
	}
	if values == nil {
		values = map[string]interface{}{}
	}
	for _, file := range valueFiles {
		override, err := readYAMLFile(file)
		if err != nil {
			return err
		}
		values = coalesce(override, values)
	}

	chartName, _ := chart["name"].(string)
	top := map[string]interface{}{
		"Values": values,
		"Chart":  capitalizeKeys(chart),
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false,
			"Revision": 1,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.28.0", "Major": "1", "Minor": "28", "GitVersion": "v1.28.0"},
			"APIVersions": apiVersions{},
			"HelmVersion": map[string]interface{}{"Version": "v3.14.0"},
		},
	}

	var out bytes.Buffer
	if includeCRDs {
		files, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		sort.Strings(files)
		for _, file := range files {
			content, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			fmt.Fprintf(&out, "---\n# Source: %s/crds/%s\n%s", chartName, filepath.Base(file), content)
			if !bytes.HasSuffix(content, []byte("\n")) {
				out.WriteString("\n")
			}
		}
	}

	manifests, err := render(chartDir, chartName, top)
	if err != nil {
		return err
	}
	for _, manifest := range manifests {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", manifest.source, manifest.content)
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

type manifest struct {
	source  string
	content string
	kind    string
}

// render parses every file of templates/ into one template set and executes each that does not
// start with `_`, as Helm's engine does.
func render(chartDir, chartName string, top map[string]interface{}) ([]manifest, error) {
	templatesDir := filepath.Join(chartDir, "templates")
	var files []string
	err := filepath.Walk(templatesDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)

	root := template.New("gotpl")
	// Helm renders a missing key as empty, then strips the "<no value>" text/template prints.
	root.Option("missingkey=zero")
	includedNames := map[string]int{}
	funcs := helmFuncs(root, includedNames)
	root.Funcs(funcs)
	for _, file := range files {
		content, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(chartDir, file)
		name := path.Join(chartName, filepath.ToSlash(rel))
		if _, err := root.New(name).Parse(string(content)); err != nil {
			return nil, err
		}
	}

	var result []manifest
	for _, file := range files {
		rel, _ := filepath.Rel(chartDir, file)
		name := path.Join(chartName, filepath.ToSlash(rel))
		if strings.HasPrefix(filepath.Base(file), "_") || strings.HasSuffix(file, "NOTES.txt") {
			continue
		}
		scope := copyMap(top)
		scope["Template"] = map[string]interface{}{"Name": name, "BasePath": path.Join(chartName, "templates")}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, name, scope); err != nil {
			return nil, err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		// One file may hold several documents; each gets its own Source header, empty ones vanish.
		for _, doc := range splitDocuments(text) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var head struct {
				Kind string `yaml:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return nil, fmt.Errorf("YAML parse error on %s: %v", name, err)
			}
			result = append(result, manifest{source: name, content: strings.TrimSpace(doc), kind: head.Kind})
		}
	}
	sort.SliceStable(result, func(i, j int) bool { return installRank(result[i].kind) < installRank(result[j].kind) })
	return result, nil
}

func splitDocuments(text string) []string {
	var docs []string
	var current []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, " \t") == "---" {
			docs = append(docs, strings.Join(current, "\n"))
			current = nil
			continue
		}
		current = append(current, line)
	}
	return append(docs, strings.Join(current, "\n"))
}

// installOrder is Helm's releaseutil.InstallOrder: kinds listed first are installed first; kinds
// not listed come last.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
	"ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
	"StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

func installRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

// helmFuncs is sprig's text function map without env/expandenv, plus Helm's own functions.
func helmFuncs(root *template.Template, includedNames map[string]int) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	const recursionLimit = 1000
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includedNames[name] > recursionLimit {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		defer func() { includedNames[name]-- }()
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf strings.Builder
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return value, errors.New(message)
		}
		if s, ok := value.(string); ok && s == "" {
			return value, errors.New(message)
		}
		return value, nil
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	funcs["toYaml"] = func(v interface{}) string {
		data, err := toYAML(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	funcs["fromYaml"] = func(text string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(text), &m); err != nil {
			m["Error"] = err.Error()
		}
		return normalize(m).(map[string]interface{})
	}
	funcs["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	funcs["fromJson"] = func(text string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	return funcs
}

// toYAML is sigs.k8s.io/yaml's Marshal, which Helm's toYaml uses: JSON first (so keys sort and
// JSON tags apply), then YAML v2.
func toYAML(v interface{}) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var obj interface{}
	if err := yaml.Unmarshal(j, &obj); err != nil {
		return nil, err
	}
	return yaml.Marshal(obj)
}

type apiVersions struct{}

// Has answers as `helm template` without --api-versions does: only the built-in groups.
func (apiVersions) Has(version string) bool {
	builtIn := []string{"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
		"admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "coordination.k8s.io/v1"}
	for _, v := range builtIn {
		if v == version || strings.HasPrefix(version, v+"/") {
			return true
		}
	}
	return false
}

func readYAMLFile(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing %s: %v", file, err)
	}
	return normalize(m).(map[string]interface{}), nil
}

// normalize turns YAML v2's map[interface{}]interface{} into map[string]interface{}, as Helm's
// values (read through sigs.k8s.io/yaml) are.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, v := range t {
			m[fmt.Sprint(k)] = normalize(v)
		}
		return m
	case map[string]interface{}:
		for k, v := range t {
			t[k] = normalize(v)
		}
		return t
	case []interface{}:
		for i, v := range t {
			t[i] = normalize(v)
		}
		return t
	default:
		return v
	}
}

// coalesce merges `override` over `base` as Helm coalesces values: maps merge key by key, other
// values replace, and an explicit null deletes the key.
func coalesce(override, base map[string]interface{}) map[string]interface{} {
	result := copyMap(base)
	for key, value := range override {
		if value == nil {
			delete(result, key)
			continue
		}
		overrideMap, isMap := value.(map[string]interface{})
		baseMap, baseIsMap := result[key].(map[string]interface{})
		if isMap && baseIsMap {
			result[key] = coalesce(overrideMap, baseMap)
		} else {
			result[key] = value
		}
	}
	return result
}

func copyMap(m map[string]interface{}) map[string]interface{} {
	c := make(map[string]interface{}, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// capitalizeKeys turns Chart.yaml's `name`, `appVersion` into `.Chart.Name`, `.Chart.AppVersion`.
func capitalizeKeys(m map[string]interface{}) map[string]interface{} {
	c := map[string]interface{}{}
	for k, v := range m {
		if k == "" {
			continue
		}
		c[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return c
}
