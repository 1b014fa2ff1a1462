// Package kubecheck checks the Kubernetes manifests mendflow ships, the
// kustomize base and demo overlay (deploy/k8s) and the Helm chart
// (deploy/helm/mendflow) rendered by Helm itself with several values sets,
// against one set of promises to operators: probes, grace periods, disruption
// budgets, resources, security contexts, secrets and the NATS cluster. Every
// rendered object is decoded strictly into its Kubernetes type, so that a
// misspelt field fails.
//
// It is a module of its own so that Helm and the Kubernetes modules stay out
// of mendflow's go.mod; `make test` runs it. It has only tests.
package kubecheck
