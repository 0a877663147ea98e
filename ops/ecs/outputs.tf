output "service_name" {
  value = aws_ecs_service.this.name
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.this.arn
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.this.name
}

output "execution_role_arn" {
  value = aws_iam_role.execution.arn
}

output "migrate_task_definition_arn" {
  description = "Run it (aws ecs run-task) before the service's first deployment, and when a release brings a migration"
  value       = aws_ecs_task_definition.migrate.arn
}
