package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.mau.fi/util/random"
	"gopkg.in/yaml.v3"

	"github.com/ferrybridge/ferry/bridge/network"
)

// GenerateRegistration implements `ferry -g -c config.yaml -r registration.yaml`.
//
// It loads and validates the config at configPath (the tokens may be empty),
// generates random tokens for whichever of appservice.as_token and
// appservice.hs_token is empty (existing tokens are never replaced), writes
// them into the config file keeping its comments, key order and layout,
// writes the registration to registrationPath, makes both files mode 0600,
// and returns what the admin must add to the homeserver's configuration.
// Both files are rewritten in place, so symbolic links, ownership and bind
// mounts survive. Running it again changes nothing but the file modes.
func GenerateRegistration(configPath, registrationPath string, ghostNetworks, aliasNetworks []network.NetworkID) (instructions string, err error) {
	data, err := os.ReadFile(configPath)
	if err != nil {
		return "", err
	}
	cfg, err := Parse(data, unique(slices.Concat(ghostNetworks, aliasNetworks)))
	if err != nil {
		return "", fmt.Errorf("config %s: %w", configPath, err)
	}

	var fill []keyValue
	if cfg.AppService.ASToken == "" {
		cfg.AppService.ASToken = newToken(cfg.AppService.HSToken)
		fill = append(fill, keyValue{"as_token", cfg.AppService.ASToken})
	}
	if cfg.AppService.HSToken == "" {
		cfg.AppService.HSToken = newToken(cfg.AppService.ASToken)
		fill = append(fill, keyValue{"hs_token", cfg.AppService.HSToken})
	}
	if err := cfg.validateForRegistration(ghostNetworks); err != nil {
		return "", fmt.Errorf("config %s: %w", configPath, err)
	}

	if len(fill) > 0 {
		updated, err := setAppServiceKeys(data, fill)
		if err != nil {
			return "", fmt.Errorf("writing tokens into %s: %w", configPath, err)
		}
		if err := writePrivate(configPath, updated); err != nil {
			return "", err
		}
	} else if err := os.Chmod(configPath, 0o600); err != nil {
		return "", err
	}

	regYAML, err := cfg.Registration(ghostNetworks, aliasNetworks).YAML()
	if err != nil {
		return "", err
	}
	if err := writePrivate(registrationPath, []byte(regYAML)); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(registrationPath)
	if err != nil {
		return "", err
	}
	return registrationInstructions(abs), nil
}

// validateForRegistration is Validate(true) plus the checks that need the
// list of networks: the bot must not fall inside a ghost namespace.
func (c *Config) validateForRegistration(ghostNetworks []network.NetworkID) error {
	var problems []Problem
	if err := c.Validate(true); err != nil {
		problems = err.(*ValidationError).Problems
	}
	for _, n := range ghostNetworks {
		if strings.HasPrefix(c.AppService.Bot.Username, NamespacePrefix(n)) {
			problems = append(problems, Problem{
				Path:    "appservice.bot.username",
				Message: fmt.Sprintf("%q must not start with %q: that prefix belongs to %s's ghosts", c.AppService.Bot.Username, NamespacePrefix(n), n),
			})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: problems}
}

func registrationInstructions(absRegistrationPath string) string {
	quoted := fmt.Sprintf("%q", absRegistrationPath)
	return "Wrote the registration to " + absRegistrationPath + ".\n" +
		"Add it to your homeserver's configuration and restart the homeserver:\n" +
		"  Synapse (homeserver.yaml):\n" +
		"    app_service_config_files: [" + quoted + "]\n" +
		"  Dendrite (dendrite.yaml):\n" +
		"    app_service_api:\n" +
		"      config_files: [" + quoted + "]\n"
}

// newToken returns a random 64-character alphanumeric token different from other.
func newToken(other string) string {
	for {
		if t := random.String(64); t != other {
			return t
		}
	}
}

// writePrivate writes data to path in place (keeping the file's identity:
// symbolic links, ownership, a Docker bind mount), with mode 0600 set before
// the secrets are written.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600) // O_CREATE's mode applies to new files only
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

type keyValue struct{ key, value string }

// setAppServiceKeys sets string values under appservice in the YAML text
// data. It edits the YAML node tree (adding the section or keys if absent)
// and re-encodes it, which keeps every comment and the key order. When the
// keys already exist on lines of their own, it instead replaces just those
// values in the original text, so blank lines, indentation and quoting
// elsewhere stay byte for byte; that result is used only if it decodes to
// exactly what the edited tree does.
func setAppServiceKeys(data []byte, set []keyValue) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		*root = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: root.HeadComment}
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the top level is not a mapping")
	}
	section := mappingValue(root, "appservice")
	if section == nil {
		section = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		root.Content = append(root.Content, stringNode("appservice"), section)
	} else if section = resolve(section); isNull(section) {
		*section = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", LineComment: section.LineComment}
	}
	if section.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("appservice is not a mapping")
	}

	lines := strings.SplitAfter(string(data), "\n")
	spliceable := section.Style&yaml.FlowStyle == 0
	for _, kv := range set {
		key, value := mappingEntry(section, kv.key)
		if key == nil {
			section.Content = append(section.Content, stringNode(kv.key), stringNode(kv.value))
			spliceable = false
			continue
		}
		value.Kind, value.Tag, value.Value, value.Content, value.Alias = yaml.ScalarNode, "!!str", kv.value, nil, nil
		if value.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			value.Style = 0
		}
		spliceable = spliceable && spliceValue(lines, key.Line, kv.key, kv.value)
	}

	var encoded strings.Builder
	enc := yaml.NewEncoder(&encoded)
	enc.SetIndent(detectIndent(root))
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if spliceable {
		spliced := strings.Join(lines, "")
		if sameYAML(spliced, encoded.String()) {
			return []byte(spliced), nil
		}
	}
	return []byte(encoded.String()), nil
}

// spliceValue replaces an empty value (none, an empty quoted string, ~ or null) of key on
// the given 1-based line, keeping any trailing comment.
func spliceValue(lines []string, line int, key, value string) bool {
	if line < 1 || line > len(lines) {
		return false
	}
	k := regexp.QuoteMeta(key)
	re := regexp.MustCompile(`^(\s*(?:` + k + `|"` + k + `"|'` + k + `')[ \t]*:)[ \t]*?(?:""|''|~|null|Null|NULL)?([ \t]+#.*|[ \t]*)(\r?\n)?$`)
	if !re.MatchString(lines[line-1]) {
		return false
	}
	lines[line-1] = re.ReplaceAllString(lines[line-1], "${1} "+strings.ReplaceAll(value, "$", "$$")+"${2}${3}")
	return true
}

func sameYAML(a, b string) bool {
	var va, vb any
	if yaml.Unmarshal([]byte(a), &va) != nil || yaml.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// detectIndent guesses the file's indentation from its first nested block
// mapping, so that a re-encoded file keeps it; 4 when there is none.
func detectIndent(root *yaml.Node) int {
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if value.Kind == yaml.MappingNode && value.Style&yaml.FlowStyle == 0 && len(value.Content) > 0 {
			if indent := value.Content[0].Column - key.Column; indent >= 2 && indent <= 8 {
				return indent
			}
		}
	}
	return 4
}

func mappingEntry(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if resolve(m.Content[i]).Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	_, v := mappingEntry(m, key)
	return v
}

func stringNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
