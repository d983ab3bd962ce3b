// Package openapi holds hashhub's OpenAPI (Swagger 2.0) specification,
// generated from the handlers' swag annotations by scripts/openapi.sh.
// Do not edit the generated files; regenerate them.
package openapi
