package config

import "os"

// KeyRotation configures the key-rotator function, which needs neither the
// table nor the bucket: only the two secrets of the JWT keys.
type KeyRotation struct {
	Region              string
	SigningKeySecretARN string
	VerifyKeysSecretARN string
	LogLevel            string
}

// LoadKeyRotation reads the key rotator's settings from the environment.
func LoadKeyRotation() (KeyRotation, error) { return ParseKeyRotation(os.LookupEnv) }

// ParseKeyRotation reads the key rotator's settings; both secret ARNs are
// required.
func ParseKeyRotation(env Env) (KeyRotation, error) {
	r := reader{env: env}
	k := KeyRotation{
		Region:              r.str("AWS_REGION", "us-east-1"),
		SigningKeySecretARN: r.required("RAMPART_SIGNING_KEY_SECRET_ARN"),
		VerifyKeysSecretARN: r.required("RAMPART_VERIFY_KEYS_SECRET_ARN"),
		LogLevel:            r.oneOf("RAMPART_LOG_LEVEL", "info", "debug", "info", "warn", "error"),
	}
	return k, r.err()
}
