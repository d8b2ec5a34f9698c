// Package load drives many distinct signups through the local stack
// over HTTP and audits the table afterwards.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/stack"
)

const (
	signups     = 500
	concurrency = 50
)

// TestDistinctSignupsUnderLoad: 500 signups for distinct WABAs at
// concurrency 50, with Plivo failing some of them, all end onboarded, none
// is lost, and Plivo onboards each WABA exactly once.
func TestDistinctSignupsUnderLoad(t *testing.T) {
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{
		Getenv:      func(string) string { return "" },
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		ResumeEvery: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Plivo.FailNext(plivosim.RouteSignup, 40, plivosim.KindInternal)

	// A job is one customer's signup. Its Meta code is issued when a
	// worker takes it, as the browser posts it right after Meta's dialog:
	// codes live 30 s, and on a loaded machine the last of 500 would
	// otherwise be older than that before they are sent.
	type job struct {
		grant   metasim.Grant
		ref     string
		session string
	}
	jobs := make([]job, signups)
	for i := range jobs {
		g := metasim.Grant{
			WABAID:       fmt.Sprintf("3%014d", i+1),
			BusinessID:   fmt.Sprintf("4%014d", i+1),
			PhoneNumbers: []metasim.PhoneNumber{{ID: fmt.Sprintf("5%014d", i+1), DisplayPhoneNumber: fmt.Sprintf("+1 555 %07d", i+1)}},
		}
		ref := fmt.Sprintf("load-%d", i+1)
		sess, err := st.NewSession(ctx, ref, 0)
		if err != nil {
			t.Fatalf("session: %v", err)
		}
		jobs[i] = job{grant: g, ref: ref, session: sess.Token}
	}

	start := time.Now()
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan job)
	client := &http.Client{Timeout: 30 * time.Second}
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				body, _ := json.Marshal(map[string]string{
					"code": st.Meta.IssueCode(j.grant), "waba_id": j.grant.WABAID, "phone_number_id": j.grant.PhoneNumbers[0].ID,
					"business_id": j.grant.BusinessID, "client_ref": j.ref, "session": j.session,
				})
				code := 0
				resp, err := client.Post(st.URL+"/api/whatsapp/embedded-signup", "application/json", bytes.NewReader(body))
				if err == nil {
					code = resp.StatusCode
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	for code, n := range statuses {
		if code != http.StatusOK && code != http.StatusAccepted {
			t.Errorf("%d answers with status %d", n, code)
		}
	}

	// The resume ticker finishes what Plivo refused; then audit the table.
	deadline := time.Now().Add(90 * time.Second)
	var byState map[string]int
	for {
		byState = countByState(t, st)
		if byState["onboarded"] == signups || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("%d signups at concurrency %d in %v (%.1f/s); answers %v; records by state %v; plivo calls %d, successful %d",
		signups, concurrency, elapsed.Round(time.Millisecond), float64(signups)/elapsed.Seconds(), statuses, byState,
		st.Plivo.SignupCalls(), st.Plivo.SuccessfulSignups())
	if byState["onboarded"] != signups || len(byState) != 1 {
		t.Fatalf("records by state %v, want all %d onboarded", byState, signups)
	}
	if st.Plivo.SuccessfulSignups() != signups {
		t.Fatalf("plivo onboarded %d WABAs, want %d", st.Plivo.SuccessfulSignups(), signups)
	}
	if n := st.Meta.Calls(metasim.EndpointOAuth); n != signups {
		t.Fatalf("codes exchanged %d times, want %d", n, signups)
	}
}

func countByState(t *testing.T, st *stack.Stack) map[string]int {
	t.Helper()
	out := map[string]int{}
	p := dynamodb.NewScanPaginator(st.DynamoDB(), &dynamodb.ScanInput{TableName: aws.String(st.TableName), ProjectionExpression: aws.String("#s"),
		ExpressionAttributeNames: map[string]string{"#s": "state"}})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, item := range page.Items {
			var rec struct {
				State string `dynamodbav:"state"`
			}
			if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
				t.Fatal(err)
			}
			out[rec.State]++
		}
	}
	return out
}
