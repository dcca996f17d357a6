import { Duration } from 'aws-cdk-lib';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StackSettings } from './settings.js';

export type BatchScheduleProps = {
  settings: StackSettings;
  stateMachine: IStateMachine;
  deadLetterQueue: Queue;
  scheduleName: string;
};

/**
 * The EventBridge Scheduler schedule that runs a batch (default: 15 images of 600×400 a day) by
 * starting the batch state machine. Its payload carries the schedule's name and the scheduled time,
 * from which the batch id derives; the machine starts the batch as an execution of that name, so a
 * redelivery of the same run starts no second one. Deliveries that fail for good go to the queue.
 */
export class BatchSchedule extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: BatchScheduleProps) {
    super(scope, id);
    const { settings } = props;
    this.schedule = new Schedule(this, 'Schedule', {
      scheduleName: props.scheduleName,
      description: `picsum-batch: ${JSON.stringify(settings.scheduleRequest)}`,
      schedule: ScheduleExpression.expression(settings.scheduleExpression),
      enabled: settings.scheduleEnabled,
      target: new StepFunctionsStartExecution(props.stateMachine, {
        // The run envelope's marker: the function refuses events it does not recognise by shape.
        input: ScheduleTargetInput.fromObject({
          kind: 'picsum-batch.run',
          request: settings.scheduleRequest,
          scheduleName: props.scheduleName,
          scheduledTime: ContextAttribute.scheduledTime,
        }),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
      }),
    });
  }
}
