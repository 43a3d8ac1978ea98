// Trivy's configuration scanning (`trivy config`) reduced to what the tests use: its built-in
// Kubernetes and Dockerfile checks, embedded in Trivy's module, run over a folder. Built from
// Trivy's own scanner packages, so it skips the compile of the whole CLI (vulnerability
// databases, image, cloud and cluster scanning) and needs no download at run time.
//
//	trivy-config kubernetes|dockerfile FOLDER
//
// prints every failed check as one JSON array, and exits 0 whatever it found.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aquasecurity/trivy/pkg/iac/rego"
	"github.com/aquasecurity/trivy/pkg/iac/scan"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/dockerfile"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/kubernetes"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/options"
)

// A failed check, as `trivy config --format json` names its fields.
type finding struct {
	ID         string `json:"ID"`
	AVDID      string `json:"AVDID"`
	Severity   string `json:"Severity"`
	Title      string `json:"Title"`
	Message    string `json:"Message"`
	Resolution string `json:"Resolution"`
	File       string `json:"File"`
	StartLine  int    `json:"StartLine"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: trivy-config kubernetes|dockerfile FOLDER")
		os.Exit(2)
	}
	checks := []options.ScannerOption{rego.WithEmbeddedPolicies(true), rego.WithEmbeddedLibraries(true)}
	fsys := os.DirFS(os.Args[2])
	var results scan.Results
	var err error
	switch os.Args[1] {
	case "kubernetes":
		results, err = kubernetes.NewScanner(checks...).ScanFS(context.Background(), fsys, ".")
	case "dockerfile":
		results, err = dockerfile.NewScanner(checks...).ScanFS(context.Background(), fsys, ".")
	default:
		fmt.Fprintf(os.Stderr, "unknown kind %q: kubernetes or dockerfile\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	findings := []finding{}
	for _, result := range results.GetFailed() {
		rule := result.Rule()
		findings = append(findings, finding{
			ID:         rule.ID,
			AVDID:      rule.AVDID,
			Severity:   string(result.Severity()),
			Title:      rule.Summary,
			Message:    result.Description(),
			Resolution: rule.Resolution,
			File:       result.Range().GetFilename(),
			StartLine:  result.Range().GetStartLine(),
		})
	}
	if err := json.NewEncoder(os.Stdout).Encode(findings); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
