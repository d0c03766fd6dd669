// Package faults proves how Rampart behaves when its dependencies fail under
// it. The tests (faults_test.go) run their own DynamoDB Local (with -dbPath in
// a temporary directory, so that data survives a restart) and their own MinIO,
// each on a free port of 127.0.0.1 and in its own process group, so that they
// can SIGKILL and restart them without disturbing any other package's tests.
// They fail (never skip) when the emulators are not installed: run them with
// `make test`, or
//
//	scripts/emulators.sh --mode test run-with -- go test -count=1 ./shared/faults/
//
// Covered:
//
//   - DynamoDB stops during writes (TestFaultsDynamoWrites): creating and
//     patching a finding, listing, stats and login answer 503 with the
//     {"detail": ...} envelope and no stack trace, table name or endpoint;
//     /api/v1/health/ready answers 503 naming dynamodb. After a restart on
//     the same port and data, everything written before is there, nothing is
//     half-written (list total == stats total == creates that answered 2xx,
//     every finding's history matches its changes) and the failed writes
//     succeed when retried.
//   - DynamoDB stops during a scan (TestFaultsDynamoDuringScan): the scan
//     (local bus, a slow HTTPS target on 127.0.0.1) is running when DynamoDB
//     is killed and restarted within the bus's retry window (the event is
//     published again if the retries ran out); the scan must end completed or
//     failed with a reason, never stay running, with one finding per
//     fingerprint and the same checks as a scan of the same target without
//     faults.
//   - S3 stops during a multipart attachment upload and a report store
//     (TestFaultsS3): the upload answers 503 with the envelope and leaves no
//     attachment listed; after a restart the upload works. A report generated
//     while MinIO is down ends failed with a reason (MinIO stays down past the
//     workflow's retry window), or succeeded when MinIO returns within it;
//     never stuck queued or running.
//
// Every wait is bounded.
package faults
