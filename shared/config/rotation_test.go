package config

import "testing"

func TestParseKeyRotation(t *testing.T) {
	k, err := ParseKeyRotation(FromMap(map[string]string{
		"RAMPART_SIGNING_KEY_SECRET_ARN": "arn:signing", "RAMPART_VERIFY_KEYS_SECRET_ARN": "arn:verify", "AWS_REGION": "eu-central-1",
		// The rotator needs no table or bucket, even in Lambda.
		"AWS_LAMBDA_FUNCTION_NAME": "rampart-key-rotator",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if k.SigningKeySecretARN != "arn:signing" || k.VerifyKeysSecretARN != "arn:verify" || k.Region != "eu-central-1" || k.LogLevel != "info" {
		t.Fatalf("%+v", k)
	}
	if _, err := ParseKeyRotation(FromMap(map[string]string{"RAMPART_SIGNING_KEY_SECRET_ARN": "arn:signing"})); err == nil {
		t.Fatal("missing verify ARN accepted")
	}
	if _, err := ParseKeyRotation(FromMap(nil)); err == nil {
		t.Fatal("missing ARNs accepted")
	}
}
