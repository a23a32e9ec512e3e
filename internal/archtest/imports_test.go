// Package archtest keeps Ferry's import arrows pointing one way:
// cmd -> bridge -> portals -> puppets -> database, with bridge/network as
// the leaf every package may use, and the networks importing nothing of
// Ferry's but the contract.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ferrybridge/ferry"

// allowed lists, per package prefix, the Ferry packages it may depend on
// (directly or not). A package may always use itself and its own
// subpackages.
var allowed = map[string][]string{
	"bridge/network": {},
	// metrics is a leaf beside the contract: the core records into it,
	// networks never see it (they report timings through the contract).
	"bridge/metrics": {},
	// readthrough is a leaf too: a cache the core puts in front of its
	// database reads.
	"bridge/readthrough": {},
	// workers is a leaf as well: goroutines kept for reuse.
	"bridge/workers": {},
	"database":       {"bridge/network"},
	"puppets":        {"bridge/network", "bridge/workers", "database"},
	"portals":        {"bridge/network", "bridge/metrics", "bridge/readthrough", "bridge/workers", "database", "puppets"},
	"bridge/config":  {"bridge/network"},
	"bridge":         {"bridge/network", "bridge/config", "bridge/metrics", "bridge/readthrough", "bridge/workers", "database", "puppets", "portals"},
	"whatsapp":       {"bridge/network"},
	"irc":            {"bridge/network"},
}

type listedPackage struct {
	ImportPath string
	Deps       []string
}

func TestImportArrows(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var pkg listedPackage
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg.ImportPath, module), "/")
		rule, ruled := ruleFor(rel)
		for _, dep := range pkg.Deps {
			if !strings.HasPrefix(dep, module+"/") {
				continue
			}
			depRel := strings.TrimPrefix(dep, module+"/")
			if strings.HasPrefix(depRel, "internal/") && !strings.HasPrefix(rel, "internal/") && !strings.HasPrefix(rel, "cmd/") {
				t.Errorf("%s depends on test support package %s", rel, depRel)
			}
			if !ruled || within(depRel, rule.prefix) {
				continue
			}
			ok := false
			for _, a := range rule.allowed {
				if within(depRel, a) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s may not depend on %s (allowed: %v)", rel, depRel, rule.allowed)
			}
		}
		if ruled {
			checked++
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages were checked; is the module layout what this test expects?", checked)
	}
}

type rule struct {
	prefix  string
	allowed []string
}

// ruleFor picks the most specific rule for a package.
func ruleFor(rel string) (rule, bool) {
	best := ""
	for prefix := range allowed {
		if within(rel, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best == "" {
		return rule{}, false
	}
	return rule{prefix: best, allowed: allowed[best]}, true
}

func within(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}
