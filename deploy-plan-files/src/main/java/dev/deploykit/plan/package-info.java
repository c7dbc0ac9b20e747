/**
 * Plan files: {@link dev.deploykit.DeployPlan} as YAML or JSON, read with errors that name the file,
 * line, column and field ({@link dev.deploykit.plan.PlanFiles}, {@link dev.deploykit.plan.PlanFile},
 * {@link dev.deploykit.plan.PlanFileException}). The format: {@code docs/plan-files.md}.
 */
package dev.deploykit.plan;
