// Package matrixhtml holds what the core and the networks both need to
// know about the Matrix HTML that mautrix's HTMLParser reads.
package matrixhtml

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// ListStartBeyond reports whether html.Parse, which mautrix's HTMLParser
// calls, makes an <ol> of s whose start it reads (with strconv.Atoi, as
// mautrix does) as beyond ±limit. mautrix (v0.32.0) recurses without end
// on a start near the int limits, a stack overflow that recover cannot
// catch. Only the parser can say which lists there are: a tokenizer reads
// <style>, <title> and the like as raw text, which inside <svg> or <math>
// the parser does not, so an <ol> there is a list a tokenizer never sees.
func ListStartBeyond(s string, limit int) bool {
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return true
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "ol" {
			continue
		}
		for _, a := range n.Attr {
			if a.Key != "start" {
				continue
			}
			if start, _ := strconv.Atoi(a.Val); start > limit || start < -limit {
				return true
			}
		}
	}
	return false
}
