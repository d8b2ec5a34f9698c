// Package esversion knows the versions of Meta's WhatsApp Embedded Signup,
// when Meta retires each one, and what the page passes to FB.login's extras
// for each. The page, the configuration and the doctor all ask it, so
// moving to Meta's next version is one parameter (META_ES_VERSION) and one
// row here.
//
// Source: Meta's "Embedded Signup → Versions" page (updated 2026-05-21) and
// its "Version 4" page: v2 and v3, including their public previews, are
// deprecated on 2026-10-15; v4 (introduced 2025-10-08) and
// v4-public-preview (2026-05-12) have no end date yet. The version is
// decided inside FB.login's extras: v4's extras carry no version field
// (Meta: "The extras object is purposely empty for v4"; a Multi-Partner
// Solution adds setup.solutionID), v3 and the previews name theirs in
// extras.version, and v2 sends sessionInfoVersion instead.
package esversion

import (
	"encoding/json"
	"fmt"
	"time"
)

// Default is the version a deploy uses when META_ES_VERSION is not set.
const Default = "v4"

// Version is one Embedded Signup version.
type Version struct {
	Name       string
	Introduced time.Time
	// Until is the day Meta stops serving it; zero while Meta has not
	// announced one.
	Until time.Time
	// ExtrasVersion is the extras.version value that selects it; empty
	// when the version is chosen otherwise (v4: by the login
	// configuration's products; v2: by sessionInfoVersion).
	ExtrasVersion string
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic("esversion: bad date " + s)
	}
	return t
}

// retirement is Meta's announced deprecation date of v2 and v3.
var retirement = day("2026-10-15")

// Versions lists Meta's Embedded Signup versions, oldest first. Add a row
// when Meta announces a version; set Until when Meta announces its end.
var Versions = []Version{
	{Name: "v2", Introduced: day("2023-01-01"), Until: retirement},
	{Name: "v3", Introduced: day("2025-05-29"), Until: retirement, ExtrasVersion: "v3"},
	{Name: "v2-public-preview", Introduced: day("2025-08-14"), Until: retirement, ExtrasVersion: "v2-public-preview"},
	{Name: "v3-public-preview", Introduced: day("2025-08-14"), Until: retirement, ExtrasVersion: "v3-public-preview"},
	{Name: "v4", Introduced: day("2025-10-08")},
	{Name: "v4-public-preview", Introduced: day("2026-05-12"), ExtrasVersion: "v4-public-preview"},
}

// Lookup returns the named version.
func Lookup(name string) (Version, bool) {
	for _, v := range Versions {
		if v.Name == name {
			return v, true
		}
	}
	return Version{}, false
}

// Retired reports whether Meta no longer serves v at now.
func (v Version) Retired(now time.Time) bool {
	return !v.Until.IsZero() && !now.Before(v.Until)
}

// Check returns why name cannot be launched at now, or nil: an unknown
// version, or one Meta has retired.
func Check(name string, now time.Time) error {
	v, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("Embedded Signup version %q is not one Meta documents (known: %s)", name, names())
	}
	if v.Retired(now) {
		return fmt.Errorf("Embedded Signup %s was retired by Meta on %s; use %s", name, v.Until.Format(time.DateOnly), Default)
	}
	return nil
}

func names() string {
	s := ""
	for i, v := range Versions {
		if i > 0 {
			s += ", "
		}
		s += v.Name
	}
	return s
}

// Setup is extras.setup: the Multi-Partner Solution the customer's WABA is
// created under.
type Setup struct {
	SolutionID string `json:"solutionID"`
}

// Extras is FB.login's extras object for the non-retired versions.
type Extras struct {
	Setup   Setup  `json:"setup"`
	Version string `json:"version,omitempty"`
}

// ExtrasFor builds the extras the page passes to FB.login for version
// name with the given solution ID. The caller has checked the version.
func ExtrasFor(name, solutionID string) Extras {
	v, _ := Lookup(name)
	return Extras{Setup: Setup{SolutionID: solutionID}, Version: v.ExtrasVersion}
}

// JSON is e as the page receives it.
func (e Extras) JSON() string {
	b, _ := json.Marshal(e)
	return string(b)
}
