// compose-check loads a Compose file as `docker compose config` does, with compose-go (the
// Compose specification's reference library): the file is validated against the compose-spec
// JSON schema, variables are interpolated, and the model is checked for consistency (services,
// networks, volumes and secrets that are named exist; depends_on has no cycle). It prints each
// service with its image and command, and exits 1 on the first error.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(
		[]string{os.Args[1]},
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithName("tally"),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := project.Services[name]
		image := s.Image
		if s.Build != nil {
			image = fmt.Sprintf("%s (built from %s)", image, s.Build.Context)
		}
		fmt.Printf("%-12s %s %s\n", name, image, strings.Join(s.Command, " "))
	}
	fmt.Printf("compose file valid: %d services, %d volumes\n", len(project.Services), len(project.Volumes))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose file invalid: %v\n", err)
	os.Exit(1)
}
