package secrets

// parseVerifyToken reads the secret of Meta's webhook verification
// handshake, JSON {"verify_token": "..."}. Errors never show the value.
func parseVerifyToken(raw string) (string, error) {
	f, err := parseFields(raw, "verify_token")
	if err != nil {
		return "", err
	}
	return f["verify_token"], nil
}
