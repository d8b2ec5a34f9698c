package doctor

import (
	"fmt"
	"time"

	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/esversion"
)

// esVersion checks the Embedded Signup version the page launches, the way
// graphVersion checks Graph's: Meta retires versions on announced dates,
// and the page refuses to start with a retired one.
func esVersion(v string, now time.Time) Result {
	res := Result{ID: "meta.es_version", Group: GroupMeta, Title: "Embedded Signup version"}
	next := fmt.Sprintf("set the MetaEsVersion parameter to %s (it sets META_ES_VERSION) and deploy", esversion.Default)
	if v == "" {
		v = esversion.Default
	}
	if err := esversion.Check(v, now); err != nil {
		return fail(res, err.Error(), next)
	}
	ver, _ := esversion.Lookup(v)
	switch {
	case ver.Until.IsZero():
		return pass(res, v+": Meta has announced no end date")
	case ver.Until.Sub(now) < eolWarning:
		return warn(res, fmt.Sprintf("%s is retired by Meta on %s (%d days)", v, ver.Until.Format(time.DateOnly), int(ver.Until.Sub(now).Hours()/24)), next)
	}
	return pass(res, fmt.Sprintf("%s works until %s", v, ver.Until.Format(time.DateOnly)))
}

// solutionID checks the Multi-Partner Solution ID the page passes as
// extras.setup.solutionID: without it Meta does not create the customer's
// WABA under Plivo's solution and no signup can be onboarded.
func solutionID(id string) Result {
	res := Result{ID: "page.solution_id", Group: GroupPage, Title: "Plivo solution ID"}
	next := "set the PlivoSolutionId parameter to the Multi-Partner Solution ID Plivo accepted (Meta App Dashboard > WhatsApp > Partner Solutions) and deploy"
	if problem := config.SolutionIDProblem(id); problem != "" {
		return fail(res, config.EnvPlivoSolutionID+" "+problem, next)
	}
	return pass(res, id)
}
