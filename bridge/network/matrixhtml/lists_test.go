package matrixhtml

import "testing"

func TestListStartBeyond(t *testing.T) {
	for in, want := range map[string]bool{
		`<ol start="5"><li>a</li></ol>`:                    false,
		`<ol start="-9223372036854775808"><li>a</li></ol>`: true,
		`<ol start="99999999999999999999"><li>a</li></ol>`: true,
		`<ol start="x"><li>a</li></ol>`:                    false,
		// A list in a real <style> is text to the parser.
		`<style><ol start="-9223372036854775808"></style>`: false,
		// In <svg>, <style> is markup and the <ol> breaks out into a list.
		`<svg><style><ol start="-9223372036854775808"><li>x</li></ol></style></svg>`: true,
	} {
		if got := ListStartBeyond(in, 1_000_000); got != want {
			t.Errorf("ListStartBeyond(%q) = %v, want %v", in, got, want)
		}
	}
}
