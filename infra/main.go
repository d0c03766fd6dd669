// Command infra is Rampart's CDK app: `cdk synth` / `cdk deploy` from the
// repository root run it (cdk.json: "cd infra && go run .").
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rampart infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	// The CLI runs the app in infra/ but passes paths (CDK_OUTDIR, -o)
	// relative to the repository root, its own working directory. The jsii
	// runtime (Node) that does the synthesis starts with the first construct
	// below and inherits the working directory: move to the root first.
	if err := os.Chdir(root); err != nil {
		return err
	}
	app := awscdk.NewApp(nil)
	cfg, err := LoadConfig(app.Node(), root)
	if err != nil {
		return err
	}
	names, err := DiscoverFunctions(filepath.Join(root, "functions"))
	if err != nil {
		return err
	}
	// Environment-agnostic: the template does not depend on the credentials
	// of whoever synthesizes it (synth runs offline), and deploys anywhere.
	if _, err := NewRampartStack(app, "Rampart-"+cfg.Stage, &RampartStackProps{
		Config:    cfg,
		Functions: names,
	}); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// repoRoot is the nearest directory at or above the working directory that
// holds cdk.json: the CLI runs the app in infra/ ("cd infra && go run .").
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "cdk.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no cdk.json at or above the working directory: run cdk from the repository root")
		}
		dir = parent
	}
}
