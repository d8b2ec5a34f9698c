package apigw

import (
	"context"
	"log/slog"
	"time"
)

// AccessLog writes the one access line per request that every handler of
// this API writes, for handlers that live outside this package.
func AccessLog(ctx context.Context, log *slog.Logger, req Request, resp Response, start time.Time) {
	accessLog(ctx, log, req, resp, start)
}
