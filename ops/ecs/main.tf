# integrations-service on ECS Fargate: task definition, service (2 tasks, circuit breaker), CPU autoscaling.

locals {
  port = 8090
  # The container health check asks here: its connections are accepted apart from the API's.
  probe_port = 8091

  # Non-secret configuration; var.settings overrides any of it.
  settings = merge({
    NODE_ENV            = "production"
    MONGODB_DB          = "ai-chatbot-framework"
    MONGO_MAX_POOL_SIZE = "10"
    LOG_LEVEL           = "info"
    METRICS_ENABLED     = "true"
    PORT                = tostring(local.port)
    PROBE_PORT          = tostring(local.probe_port)
    HOST                = "0.0.0.0"
    ALLOWED_HOSTS       = var.allowed_hosts
    AUTH_DISABLED       = "false"
    CORS_ORIGINS        = ""
    SHUTDOWN_GRACE_MS   = "10000"
    STORE_TIMEOUT_MS    = "3000"
    CACHE_TTL_MS        = "1000"
    STALE_IF_ERROR_MS   = "300000"
    MIGRATE_ON_START    = "false"
  }, var.settings)

  # Secrets come from Secrets Manager; the optional ones only when given.
  secret_arns = {
    MONGODB_URI             = var.mongodb_uri_secret_arn
    ADMIN_TOKENS            = var.admin_tokens_secret_arn
    READ_TOKENS             = var.read_tokens_secret_arn
    GATEWAY_TOKENS          = var.gateway_tokens_secret_arn
    ENCRYPTION_KEY          = var.encryption_key_secret_arn
    ENCRYPTION_KEY_PREVIOUS = var.encryption_key_previous_secret_arn
    ENCRYPTION_KEY_NEXT     = var.encryption_key_next_secret_arn
  }
  secrets = { for name, arn in local.secret_arns : name => arn if arn != null }

  container_definitions = [
    {
      name         = var.name
      image        = var.image
      essential    = true
      portMappings = [{ containerPort = local.port, protocol = "tcp" }]
      environment  = [for name, value in local.settings : { name = name, value = value }]
      secrets      = [for name, arn in local.secrets : { name = name, valueFrom = arn }]
      # Above SHUTDOWN_GRACE_MS: ECS waits this long after SIGTERM before SIGKILL.
      stopTimeout            = 30
      readonlyRootFilesystem = true
      user                   = "1000"
      # At most 8 KiB of a connection's bytes held by the kernel for the service, as ops/k8s sets it.
      systemControls = [{ namespace = "net.ipv4.tcp_rmem", value = "4096 8192 8192" }]
      healthCheck = {
        command     = ["CMD", "node", "-e", "fetch('http://127.0.0.1:8091/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 15
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = var.region
          awslogs-stream-prefix = var.name
        }
      }
    }
  ]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Pulls the image, writes logs, reads the secrets at task start.
resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.secrets)
  }
}

resource "aws_iam_role_policy" "read_secrets" {
  name   = "${var.name}-read-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.read_secrets.json
}

# The service itself calls no AWS API.
resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.container_definitions)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
}

# The migrations as a one-off task: the same image, settings and secrets, `node dist/migrate.js`. The service's
# tasks refuse to start without the unique index the migrations make, so from an empty database this runs
# before the service's first deployment (README, ECS), and again when a release brings a migration.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([
    {
      name                   = "${var.name}-migrate"
      image                  = var.image
      essential              = true
      command                = ["node", "dist/migrate.js"]
      environment            = [for name, value in local.settings : { name = name, value = value }]
      secrets                = [for name, arn in local.secrets : { name = name, valueFrom = arn }]
      readonlyRootFilesystem = true
      user                   = "1000"
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = var.region
          awslogs-stream-prefix = "${var.name}-migrate"
        }
      }
    }
  ])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.target_group_arn == null ? null : 30

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = var.target_group_arn == null ? [] : [var.target_group_arn]
    content {
      target_group_arn = load_balancer.value
      container_name   = var.name
      container_port   = local.port
    }
  }

  # Autoscaling owns the task count once running.
  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${element(split("/", var.cluster_arn), length(split("/", var.cluster_arn)) - 1)}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 120
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
