package ircfmt

import "testing"

func TestPalette(t *testing.T) {
	if c := Palette[4]; c.R != 0xff || c.G != 0 || c.B != 0 || c.A != 0xff {
		t.Errorf("Palette[4] = %v", c)
	}
	if got := PaletteHex(16); got != "#470000" {
		t.Errorf("PaletteHex(16) = %q", got)
	}
	if got := PaletteHex(98); got != "#ffffff" {
		t.Errorf("PaletteHex(98) = %q", got)
	}
	if PaletteHex(99) != "" || PaletteHex(-1) != "" {
		t.Error("PaletteHex of 99/-1 should be empty")
	}
	// Every colour maps back to itself, or to the lower twin with the same RGB.
	for i, c := range Palette {
		n := NearestColour(c.R, c.G, c.B)
		if n != i && Palette[n] != c {
			t.Errorf("NearestColour(Palette[%d]) = %d", i, n)
		}
		if n > i {
			t.Errorf("NearestColour(Palette[%d]) = %d, want the lowest twin", i, n)
		}
	}
}

func TestNearestColour(t *testing.T) {
	tests := []struct {
		r, g, b uint8
		want    int
	}{
		{0xff, 0xff, 0xff, 0}, {0, 0, 0, 1}, {0xff, 0, 0, 4}, {0xfe, 0x02, 0x02, 4},
		{0x00, 0x00, 0x80, 2}, {0x47, 0x00, 0x00, 16}, {0x80, 0x80, 0x80, 14},
		{0x13, 0x13, 0x13, 89}, {0xff, 0x8c, 0x00, 53}, {0x00, 0xff, 0x00, 56},
	}
	for _, tc := range tests {
		if got := NearestColour(tc.r, tc.g, tc.b); got != tc.want {
			t.Errorf("NearestColour(%02x%02x%02x) = %d (%s), want %d (%s)", tc.r, tc.g, tc.b, got, PaletteHex(got), tc.want, PaletteHex(tc.want))
		}
	}
}

func TestColourIndexOf(t *testing.T) {
	tests := map[string]int{
		"#ff0000": 4, "#F00": 4, " red ": 4, "Navy": 2, "#00007f": 2, "white": 0,
		"": -1, "#ff00": -1, "#gggggg": -1, "rgb(1,2,3)": -1, "transparent": -1,
	}
	for in, want := range tests {
		if got := colourIndexOf(in); got != want {
			t.Errorf("colourIndexOf(%q) = %d, want %d", in, got, want)
		}
	}
}
