// kstatus reads Kubernetes objects (a JSON array) on stdin and prints, one JSON line per object,
// the status the kstatus library (sigs.k8s.io/cli-utils, what Flux and kpt use to wait) computes
// for it. A test tool of ecs-operator's test bed.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sjson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: cannot read stdin: %v\n", err)
		os.Exit(2)
	}
	// The Kubernetes JSON decoder keeps whole numbers int64, as unstructured objects need.
	var objects []map[string]interface{}
	if err := k8sjson.Unmarshal(input, &objects); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: stdin is not a JSON array of objects: %v\n", err)
		os.Exit(2)
	}
	encoder := json.NewEncoder(os.Stdout)
	for _, object := range objects {
		u := &unstructured.Unstructured{Object: object}
		computed, err := status.Compute(u)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s/%s: %v\n", u.GetKind(), u.GetName(), err)
			os.Exit(1)
		}
		if err := encoder.Encode(result{
			Kind:    u.GetKind(),
			Name:    u.GetName(),
			Status:  computed.Status.String(),
			Message: computed.Message,
		}); err != nil {
			os.Exit(1)
		}
	}
}
