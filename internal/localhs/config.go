package localhs

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// setYAML sets the value at a dotted path ("client_api.rate_limiting.enabled")
// in a YAML document, creating mappings on the way as needed.
func setYAML(doc *yaml.Node, path string, value any) error {
	node := doc
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			node.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
		}
		node = node.Content[0]
	}
	keys := strings.Split(path, ".")
	for i, key := range keys {
		if node.Kind != yaml.MappingNode {
			return fmt.Errorf("config %q: %q is not a mapping", path, strings.Join(keys[:i], "."))
		}
		var next *yaml.Node
		for j := 0; j+1 < len(node.Content); j += 2 {
			if node.Content[j].Value == key {
				next = node.Content[j+1]
				break
			}
		}
		last := i == len(keys)-1
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, next)
		}
		if last {
			var encoded yaml.Node
			if err := encoded.Encode(value); err != nil {
				return fmt.Errorf("config %q: %w", path, err)
			}
			*next = encoded
			return nil
		}
		node = next
	}
	return nil
}
