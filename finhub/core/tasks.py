import socket

from celery import shared_task

from finhub.core.services import heartbeat_record


@shared_task(name="finhub.core.tasks.heartbeat", expires=60)
def heartbeat(source: str = "beat") -> None:
    heartbeat_record(source=source, hostname=socket.gethostname())
