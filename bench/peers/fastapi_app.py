# The chatbot's own stack: FastAPI + uvicorn answering the same JSON from a dict.
# python3 -m uvicorn fastapi_app:app --app-dir bench/peers --port <port> --no-access-log
import json
import pathlib

from fastapi import FastAPI

RECORD = json.loads((pathlib.Path(__file__).parent / "record.json").read_text())
app = FastAPI()


@app.get("/integrations/{integration_id}")
async def get_integration(integration_id: str):
    return RECORD
