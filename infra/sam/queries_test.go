package sam_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// insightsCommands are the Logs Insights QL commands a saved query may
// start a stage with.
var insightsCommands = []string{"fields", "filter", "stats", "sort", "limit", "parse", "display", "dedup"}

// insightsWords are the language's keywords inside a stage.
var insightsWords = []string{"as", "by", "asc", "desc", "and", "or", "not", "in", "like"}

// slogKeys are the keys log/slog's JSON handler writes on every line;
// Lambda leaves a line that is JSON already as it is, so Logs Insights
// discovers exactly these and the attributes as fields.
var slogKeys = []string{"time", "level", "msg"}

// TestSavedQueriesReadWhatTheCodeLogs checks each saved Logs Insights
// query against the language and against the log lines: every field it
// names is a key the code logs (or an alias of the query), every message
// it matches is one the code writes, and its stats groups by fields or
// bin() only, where the language documents the general functions such as
// coalesce() for the fields and filter commands. A query that names a
// field no line carries runs without error and finds nothing, which an
// operator takes for an answer.
func TestSavedQueriesReadWhatTheCodeLogs(t *testing.T) {
	t.Parallel()
	code := codeScan(t)
	resources := child(templateNode(t), "Resources")
	groups := map[string]bool{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		if child(resources.Content[i+1], "Type").Value == "AWS::Logs::LogGroup" {
			groups[resources.Content[i].Value] = true
		}
	}
	queries := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		if child(res, "Type").Value != "AWS::Logs::QueryDefinition" {
			continue
		}
		queries++
		props := child(res, "Properties")
		t.Run(name, func(t *testing.T) {
			for _, g := range child(props, "LogGroupNames").Content {
				if g.Tag != "!Ref" || !groups[g.Value] {
					t.Errorf("log group %s %s is not one of the stack's log groups", g.Tag, g.Value)
				}
			}
			q := child(props, "QueryString").Value
			fields, aliases, err := insightsFields(q)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fields {
				if !code.logKeys[f] && !slices.Contains(slogKeys, f) && !aliases[f] {
					t.Errorf("field %q: no log line carries it", f)
				}
			}
			msgs := queryMessages(q)
			if len(msgs) == 0 && regexp.MustCompile(`\bmsg\s*(=|!=|like\b|in\b)`).MatchString(q) {
				t.Errorf("matches msg without a message this test can read")
			}
			for _, m := range msgs {
				if !code.messages[m] {
					t.Errorf("message %q: no log line says it", m)
				}
			}
			for _, by := range statsGroups(q) {
				if !regexp.MustCompile(`^(@?[A-Za-z_][\w.]*|bin\(\s*\w+\s*\))$`).MatchString(by) {
					t.Errorf("stats groups by %q: compute it with fields ... as <alias> first and group by the alias", by)
				}
			}
		})
	}
	if queries == 0 {
		t.Fatal("no saved query")
	}
}

// insightsFields returns the log fields a query names (not @-fields, which
// Logs Insights makes itself) and the aliases it defines, or an error for
// a stage that starts with no command.
func insightsFields(q string) ([]string, map[string]bool, error) {
	var fields []string
	aliases := map[string]bool{}
	for _, stage := range splitTop(q, '|') {
		toks := insightsTokens(stage)
		if len(toks) == 0 || !slices.Contains(insightsCommands, toks[0]) {
			return nil, nil, fmt.Errorf("stage %q starts with no Logs Insights command", strings.TrimSpace(stage))
		}
		for j := 1; j < len(toks); j++ {
			tok := toks[j]
			switch {
			case tok == "(" || tok == ")" || tok == "," || strings.HasPrefix(tok, "@") || slices.Contains(insightsWords, strings.ToLower(tok)):
			case j+1 < len(toks) && toks[j+1] == "(":
				// A function's name.
			case toks[j-1] == "as":
				aliases[strings.Trim(tok, "`")] = true
			case strings.HasPrefix(tok, "`"):
				fields = append(fields, strings.Trim(tok, "`"))
			case regexp.MustCompile(`^[A-Za-z_][\w.]*$`).MatchString(tok):
				fields = append(fields, tok)
			}
		}
	}
	return fields, aliases, nil
}

// insightsTokens splits one stage into names, backquoted names (quotes
// kept), parentheses and commas, leaving out string, number, regular expression
// and list literals and operators.
func insightsTokens(stage string) []string {
	var toks []string
	r := []rune(stage)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case c == '"' || c == '\'':
			i = skipQuoted(r, i)
		case c == '/' && len(toks) > 0 && (toks[len(toks)-1] == "like" || toks[len(toks)-1] == "=~"):
			i = skipQuoted(r, i)
		case c == '[' || c == ']':
			i++
		case c == '`':
			end := strings.IndexRune(string(r[i+1:]), '`')
			if end < 0 {
				return append(toks, string(r[i:])+"`")
			}
			toks = append(toks, string(r[i:i+end+2]))
			i += end + 2
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, string(c))
			i++
		case c == '@' || c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i + 1
			for j < len(r) && (r[j] == '_' || r[j] == '.' || r[j] == '@' || r[j] >= '0' && r[j] <= '9' || r[j] >= 'A' && r[j] <= 'Z' || r[j] >= 'a' && r[j] <= 'z') {
				j++
			}
			toks = append(toks, string(r[i:j]))
			i = j
		case c == '=' && i+1 < len(r) && r[i+1] == '~':
			toks = append(toks, "=~")
			i += 2
		default:
			i++
		}
	}
	return toks
}

func skipQuoted(r []rune, i int) int {
	q := r[i]
	for i++; i < len(r) && r[i] != q; i++ {
		if r[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// splitTop splits s on sep outside quotes, parentheses and brackets.
func splitTop(s string, sep rune) []string {
	var out []string
	depth, start := 0, 0
	var quote rune
	for i, c := range s {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// queryMessages are the messages a query matches msg against, with = or
// in [...].
func queryMessages(q string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\bmsg\s*=\s*("(?:[^"\\]|\\.)*")`).FindAllStringSubmatch(q, -1) {
		if s, err := strconv.Unquote(m[1]); err == nil {
			out = append(out, s)
		}
	}
	for _, m := range regexp.MustCompile(`\bmsg\s+in\s*\[([^\]]*)\]`).FindAllStringSubmatch(q, -1) {
		for _, item := range splitTop(m[1], ',') {
			if s, err := strconv.Unquote(strings.TrimSpace(item)); err == nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// statsGroups are the grouping expressions of a query's stats commands,
// without their aliases.
func statsGroups(q string) []string {
	var out []string
	for _, stage := range splitTop(q, '|') {
		stage = strings.TrimSpace(stage)
		if !strings.HasPrefix(stage, "stats ") {
			continue
		}
		parts := regexp.MustCompile(`\sby\s`).Split(stage, 2)
		if len(parts) < 2 {
			continue
		}
		for _, g := range splitTop(parts[1], ',') {
			g = strings.TrimSpace(g)
			if k := regexp.MustCompile(`\s+as\s+\S+$`).FindStringIndex(g); k != nil {
				g = g[:k[0]]
			}
			out = append(out, g)
		}
	}
	return out
}
