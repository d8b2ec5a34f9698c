package main

// The list prices the cost per million callbacks is computed from: the one
// place they are kept. US East (N. Virginia), us-east-1, on-demand, first
// pricing tier, no free tier, in US dollars. Update the date and the
// figures together, from the sources named.
const (
	pricesRegion = "us-east-1 (N. Virginia)"
	pricesDate   = "2026-12-05"
)

// price is one list price.
type price struct {
	item   string
	unit   string
	usd    float64 // per unit
	source string
}

var (
	// HTTP API requests, first 300 million a month; metered in 512 KB
	// increments (a callback is far below).
	priceHTTPAPIRequest = price{"API Gateway HTTP API", "request", 1.00 / 1e6, "https://aws.amazon.com/api-gateway/pricing/"}
	// Lambda requests, any architecture.
	priceLambdaRequest = price{"Lambda requests", "request", 0.20 / 1e6, "https://aws.amazon.com/lambda/pricing/"}
	// Lambda duration on Arm (Graviton), first 7.5 billion GB-s a month;
	// billed per 1 ms, rounded up, at the configured memory.
	priceLambdaArmGBs = price{"Lambda duration, arm64", "GB-second", 0.0000133334, "https://aws.amazon.com/lambda/pricing/"}
	// DynamoDB on-demand since the November 2024 reduction: a WRU writes
	// 1 KB; a RRU reads 4 KB strongly consistent, or twice that eventually
	// consistent. A failed conditional write consumes its WRU too.
	priceDynamoWRU = price{"DynamoDB on-demand writes", "WRU", 0.625 / 1e6, "https://aws.amazon.com/dynamodb/pricing/on-demand/"}
	priceDynamoRRU = price{"DynamoDB on-demand reads", "RRU", 0.125 / 1e6, "https://aws.amazon.com/dynamodb/pricing/on-demand/"}
	// EventBridge custom events published to a bus; each 64 KB chunk of an
	// entry is one event.
	priceEventBridgeEvent = price{"EventBridge PutEvents, per 64 KB chunk", "event", 1.00 / 1e6, "https://aws.amazon.com/eventbridge/pricing/"}
	// Secrets Manager API calls ($0.05 per 10,000).
	priceSecretsCall = price{"Secrets Manager API", "call", 0.05 / 1e4, "https://aws.amazon.com/secrets-manager/pricing/"}
	// CloudWatch Logs ingestion, Standard class: what the function writes
	// to stdout (log lines and EMF metrics).
	priceLogsGB = price{"CloudWatch Logs ingestion", "GB", 0.50, "https://aws.amazon.com/cloudwatch/pricing/"}
)
