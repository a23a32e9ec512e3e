package ircfmt

import (
	"image/color"
	"strings"
)

// DefaultColour is the colour number meaning "the client's default colour".
const DefaultColour = 99

// paletteHex lists the 99 IRC colours: the 16 classic mIRC colours followed by
// the extended 16–98 table implemented by most modern clients.
var paletteHex = [99]string{
	// 0-15: classic mIRC colours.
	"ffffff", "000000", "00007f", "009300", "ff0000", "7f0000", "9c009c", "fc7f00",
	"ffff00", "00fc00", "009393", "00ffff", "0000fc", "ff00ff", "7f7f7f", "d2d2d2",
	// 16-27
	"470000", "472100", "474700", "324700", "004700", "00472c", "004747", "002747", "000047", "2e0047", "470047", "47002a",
	// 28-39
	"740000", "743a00", "747400", "517400", "007400", "007449", "007474", "004074", "000074", "4b0074", "740074", "740045",
	// 40-51
	"b50000", "b56300", "b5b500", "7db500", "00b500", "00b571", "00b5b5", "0063b5", "0000b5", "7500b5", "b500b5", "b5006b",
	// 52-63
	"ff0000", "ff8c00", "ffff00", "b2ff00", "00ff00", "00ffa0", "00ffff", "008cff", "0000ff", "a500ff", "ff00ff", "ff0098",
	// 64-75
	"ff5959", "ffb459", "ffff71", "cfff60", "6fff6f", "65ffc9", "6dffff", "59b4ff", "5959ff", "c459ff", "ff66ff", "ff59bc",
	// 76-87
	"ff9c9c", "ffd39c", "ffff9c", "e2ff9c", "9cff9c", "9cffdb", "9cffff", "9cd3ff", "9c9cff", "dc9cff", "ff9cff", "ff94d3",
	// 88-98: greys.
	"000000", "131313", "282828", "363636", "4d4d4d", "656565", "818181", "9f9f9f", "bcbcbc", "e2e2e2", "ffffff",
}

// Palette holds the RGB values of IRC colours 0–98 (99 is "default" and has
// no value). Entries 0–15 are the classic mIRC colours, 16–98 the extended
// table. A few extended entries repeat a classic colour (52 = 4, 54 = 8,
// 58 = 11, 62 = 13, 88 = 1, 98 = 0); NearestColour answers the lower number.
var Palette [99]color.RGBA

// PaletteHex returns the "#rrggbb" form of colour n (0–98), or "" for any
// other number (including 99, the default colour).
func PaletteHex(n int) string {
	if n < 0 || n >= len(paletteHex) {
		return ""
	}
	return "#" + paletteHex[n]
}

func init() {
	for i, h := range paletteHex {
		v, _ := parseHex6(h)
		Palette[i] = rgbaOf(v)
	}
}

func rgbaOf(v int32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// NearestColour returns the IRC colour number (0–98) closest to the given RGB
// value, using the "redmean" weighted distance (a cheap approximation of
// perceived difference). Exact matches win; ties go to the lower number, so
// the classic 0–15 are preferred over their extended duplicates.
func NearestColour(r, g, b uint8) int {
	best, bestDist := 0, int64(-1)
	for i, c := range Palette {
		d := colourDistance(int64(r), int64(g), int64(b), int64(c.R), int64(c.G), int64(c.B))
		if bestDist < 0 || d < bestDist {
			best, bestDist = i, d
			if d == 0 {
				break
			}
		}
	}
	return best
}

func colourDistance(r1, g1, b1, r2, g2, b2 int64) int64 {
	rmean := (r1 + r2) / 2
	dr, dg, db := r1-r2, g1-g2, b1-b2
	return ((512+rmean)*dr*dr)>>8 + 4*dg*dg + ((767-rmean)*db*db)>>8
}

// cssColours are the colour keywords accepted in <font color="...">, besides
// #rgb and #rrggbb.
var cssColours = map[string]int32{
	"black": 0x000000, "silver": 0xc0c0c0, "gray": 0x808080, "grey": 0x808080,
	"white": 0xffffff, "maroon": 0x800000, "red": 0xff0000, "purple": 0x800080,
	"fuchsia": 0xff00ff, "magenta": 0xff00ff, "green": 0x008000, "lime": 0x00ff00,
	"olive": 0x808000, "yellow": 0xffff00, "navy": 0x000080, "blue": 0x0000ff,
	"teal": 0x008080, "aqua": 0x00ffff, "cyan": 0x00ffff, "orange": 0xffa500,
	"pink": 0xffc0cb, "brown": 0xa52a2a,
}

// parseCSSColour parses "#rrggbb", "#rgb" or a basic colour keyword into
// 0xRRGGBB; it returns -1 when s is none of these.
func parseCSSColour(s string) int32 {
	s = strings.TrimSpace(s)
	if len(s) > 16 {
		return -1
	}
	if strings.HasPrefix(s, "#") {
		h := s[1:]
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		if v, ok := parseHex6(h); ok {
			return v
		}
		return -1
	}
	if v, ok := cssColours[strings.ToLower(s)]; ok {
		return v
	}
	return -1
}

// colourIndexOf maps a CSS colour to the nearest IRC colour number, or -1.
func colourIndexOf(s string) int {
	v := parseCSSColour(s)
	if v < 0 {
		return -1
	}
	c := rgbaOf(v)
	return NearestColour(c.R, c.G, c.B)
}

func hexVal(c byte) int32 {
	switch {
	case c >= '0' && c <= '9':
		return int32(c - '0')
	case c >= 'a' && c <= 'f':
		return int32(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int32(c-'A') + 10
	}
	return -1
}

// parseHex6 parses exactly six hex digits.
func parseHex6(s string) (int32, bool) {
	if len(s) != 6 {
		return 0, false
	}
	var v int32
	for i := 0; i < 6; i++ {
		d := hexVal(s[i])
		if d < 0 {
			return 0, false
		}
		v = v<<4 | d
	}
	return v, true
}
