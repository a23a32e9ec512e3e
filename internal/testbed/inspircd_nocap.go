package testbed

import "strings"

// InspIRCdModulesNeedingCap are cap and every module of InspIRCdModules
// that needs it: a server started without them knows no CAP at all (it
// answers CAP with 421 unknown command), as servers without IRCv3 do.
func InspIRCdModulesNeedingCap() []string {
	var out []string
	for _, m := range InspIRCdModules {
		if m == "cap" || strings.HasPrefix(m, "ircv3") {
			out = append(out, m)
		}
	}
	return out
}
