package main

import (
	"strings"
	"testing"
)

// perfScriptSample is `perf script -F comm,tid,time,addr,ip,sym
// --show-mmap-events` output in the shape perf 6.1 prints it, cut down:
// the binary's mappings and a library's, one fault before main, faults
// of each kind after it, and faults outside the binary's read-only
// mappings.
const perfScriptSample = `ferry  6720 70828.847507: PERF_RECORD_MMAP2 6720/6720: [0x400000(0x3000) @ 0 fe:00 10011207 1892471628]: r--p /x/ferry
ferry  6720 70828.847511: PERF_RECORD_MMAP2 6720/6720: [0x403000(0xb19000) @ 0x3000 fe:00 10011207 1892471628]: r-xp /x/ferry
ferry  6720 70828.847513: PERF_RECORD_MMAP2 6720/6720: [0xf1c000(0xdb1000) @ 0xb1c000 fe:00 10011207 1892471628]: r--p /x/ferry
ferry  6720 70828.847515: PERF_RECORD_MMAP2 6720/6720: [0x1ccd000(0xa0000) @ 0x18cd000 fe:00 10011207 1892471628]: rw-p /x/ferry
ferry  6720 70828.847520: PERF_RECORD_MMAP2 6720/6720: [0x7f0000000000(0x26000) @ 0x1000 fe:00 325835 0]: r-xp /usr/lib/x86_64-linux-gnu/libc.so.6
ferry  6720 70828.850000:           500000 [unknown]
	          100000 runtime.doInit1
	           576d5 runtime.main

ferry  6720 70828.860000:           9c2368 [unknown]
	          9c2368 main.run
	          9c20a5 main.main
	           576d5 runtime.main

ferry  6721 70828.860100:           e53bc0 [unknown]
	          a53bc0 sqlite3_open_v2
	           93a21 runtime.cgocall
	          512345 github.com/mattn/go-sqlite3._Cfunc__sqlite3_open_v2

ferry  6721 70828.860200:           f102a6 [unknown]
	          b102a6 sqlite3Update.constprop.0

ferry  6720 70828.860300:          1000000 [unknown]
	          1a2b3c indexbytebody
	           2c3d4 runtime.(*moduledata).funcName
	           2c4d5 runtime.isSystemGoroutine
	           2c5d6 runtime.newproc1
	          345678 database/sql.OpenDB

ferry  6720 70828.860400:          1100000 [unknown]
	          1a2b3c indexbytebody
	           2c3d4 runtime.(*moduledata).funcName
	           2c6e7 runtime.(*Frames).Next
	           2c7f8 runtime.Caller
	          456789 net/http.(*ServeMux).registerErr
	          56789a maunium.net/go/mautrix/appservice.Create

ferry  6722 70828.860500:          1200000 [unknown]
	           2d000 runtime.step
	           2d100 runtime.pcvalue
	           2d200 runtime.(*unwinder).resolveInternal
	           2d300 runtime.copystack
	           2d400 runtime.newstack
	           2d500 runtime.morestack.abi0

ferry  6720 70828.860600:          1300000 [unknown]
	           3a000 internal/abi.Name.Name
	           3b000 reflect.(*structType).Field
	          678000 github.com/ferrybridge/ferry/bridge/config.fieldsByTag

ferry  6720 70828.860700:           889ee0 [unknown]
	          889ee0 gopkg.in/yaml%2ev3.yaml_parser_parse
	          889000 gopkg.in/yaml%2ev3.unmarshal

ferry  6720 70828.860800:     7fcc386ede00 [unknown]
	           28bee runtime.mallocgc

ferry  6720 70828.860900:          1ccd100 [unknown]
	           28bee runtime.gcWriteBarrier

ferry  6720 70828.861000:     7f0000001000 [unknown]
	            1000 memcpy
`

func TestClassifyFaultsNamesEachCauseAfterMain(t *testing.T) {
	samples, ranges, err := parsePerfFaults(strings.NewReader(perfScriptSample), "/x/ferry")
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 12 || len(ranges) != 3 {
		t.Fatalf("parsed %d faults and %d read-only mappings of the binary, want 12 and 3", len(samples), len(ranges))
	}
	causes, afterMain, all := classifyFaults(samples, ranges)
	if all != 9 || afterMain != 8 {
		t.Errorf("%d faults in the binary, %d after main; want 9 and 8", all, afterMain)
	}
	want := map[string]int{
		"code: C (SQLite, cgo)":  2,
		"code: main":             1,
		"code: gopkg.in/yaml.v3": 1,
		"runtime tables: a new goroutine's function name":  1,
		"runtime tables: runtime.Caller in net/http":       1,
		"runtime tables: moving a grown stack":             1,
		"data: github.com/ferrybridge/ferry/bridge/config": 1,
	}
	got := map[string]int{}
	for _, c := range causes {
		got[c.Cause] = c.Faults
	}
	for cause, n := range want {
		if got[cause] != n {
			t.Errorf("%q: %d faults, want %d", cause, got[cause], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("causes %v, want %v", got, want)
	}
	if causes[0].Cause != "code: C (SQLite, cgo)" {
		t.Errorf("the most frequent cause comes first: got %q", causes[0].Cause)
	}
}
