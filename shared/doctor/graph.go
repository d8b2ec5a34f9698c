package doctor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// GraphVersion is one Graph API version and the last day it works.
type GraphVersion struct {
	Version  string
	Released time.Time
	// Until is the end of availability; zero while Meta has not released
	// the next version, from which it is counted.
	Until time.Time
}

// GraphVersions lists recent Graph API versions, oldest first.
//
// Source: Meta's changelog, https://developers.facebook.com/docs/graph-api/changelog/versions
// (release and expiration dates, checked 2026-12). Where Meta has not
// published an expiration date yet, Until follows its versioning rule,
// https://developers.facebook.com/docs/apps/versions: "a version will no
// longer be usable two years after the date that the subsequent version is
// released"; Meta's published dates differ from that rule by up to nine
// days (v20.0, v22.0), so they win when known. Add a row when Meta
// releases a version. A version newer than the last row is treated as
// supported, since it can only be newer than the table.
var GraphVersions = graphTable([]struct {
	version, released, until string
}{
	{"v17.0", "2023-05-23", "2025-09-12"},
	{"v18.0", "2023-09-12", "2026-01-26"},
	{"v19.0", "2024-01-23", "2026-05-21"},
	{"v20.0", "2024-05-21", "2026-09-24"},
	{"v21.0", "2024-10-02", "2027-01-21"},
	{"v22.0", "2025-01-21", "2027-05-20"},
	{"v23.0", "2025-05-29", "2027-10-08"},
	{"v24.0", "2025-10-08", "2028-02-18"},
	{"v25.0", "2026-02-18", "2028-07-29"},
	{"v26.0", "2026-07-29", ""},
	{"v27.0", "2026-11-04", ""},
})

func graphTable(rows []struct{ version, released, until string }) []GraphVersion {
	out := make([]GraphVersion, len(rows))
	for i, r := range rows {
		released, err := time.Parse(time.DateOnly, r.released)
		if err != nil {
			panic("doctor: bad release date for " + r.version)
		}
		out[i] = GraphVersion{Version: r.version, Released: released}
		if i > 0 && out[i-1].Until.IsZero() {
			out[i-1].Until = released.AddDate(2, 0, 0)
		}
		if r.until != "" {
			if out[i].Until, err = time.Parse(time.DateOnly, r.until); err != nil {
				panic("doctor: bad expiration date for " + r.version)
			}
		}
	}
	return out
}

// eolWarning is how long before the end of a version the check warns.
const eolWarning = 90 * 24 * time.Hour

// parseGraphVersion reads "v21.0" as (21, 0).
func parseGraphVersion(v string) (major, minor int, ok bool) {
	rest, found := strings.CutPrefix(v, "v")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, ".")
	if !found {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil && major >= 0 && minor >= 0
}

func versionLess(a, b string) bool {
	am, an, _ := parseGraphVersion(a)
	bm, bn, _ := parseGraphVersion(b)
	return am < bm || am == bm && an < bn
}

// graphVersion checks that the configured Graph API version still works
// at now, and warns when it ends within eolWarning.
func graphVersion(v string, now time.Time) Result {
	res := Result{ID: "meta.graph_version", Group: GroupMeta, Title: "Graph API version"}
	latest := GraphVersions[len(GraphVersions)-1]
	next := fmt.Sprintf("set the MetaGraphVersion parameter to %s or later (it sets META_GRAPH_VERSION and the page's SDK version) and deploy", latest.Version)
	if _, _, ok := parseGraphVersion(v); !ok {
		return fail(res, fmt.Sprintf("META_GRAPH_VERSION %q is not a version such as %s", v, latest.Version), next)
	}
	for _, gv := range GraphVersions {
		if gv.Version != v {
			continue
		}
		switch {
		case gv.Until.IsZero():
			return pass(res, v+" is the newest version this check knows")
		case !now.Before(gv.Until):
			return fail(res, fmt.Sprintf("%s reached its end of life on %s: Meta answers it as the oldest version still available, with different behaviour", v, gv.Until.Format(time.DateOnly)), next)
		case gv.Until.Sub(now) < eolWarning:
			return warn(res, fmt.Sprintf("%s works until %s (%d days)", v, gv.Until.Format(time.DateOnly), int(gv.Until.Sub(now).Hours()/24)), next)
		}
		return pass(res, fmt.Sprintf("%s works until %s", v, gv.Until.Format(time.DateOnly)))
	}
	if versionLess(latest.Version, v) {
		return pass(res, fmt.Sprintf("%s is newer than this check's table (last %s); assumed supported", v, latest.Version))
	}
	if versionLess(v, GraphVersions[0].Version) {
		return fail(res, fmt.Sprintf("%s is older than %s, which reached its end of life on %s", v, GraphVersions[0].Version, GraphVersions[0].Until.Format(time.DateOnly)), next)
	}
	return fail(res, fmt.Sprintf("%s is not a Graph API version Meta released", v), next)
}
