"""The server-action protocol, on excerpts of what the frontend's build serves and answers."""

from __future__ import annotations

import json

import pytest

from loadplan import nextjs

# The login page's inline payload: the AuthForm gets its action as a prop ("$h19").
LOGIN_PAYLOAD = (
    '19:{"id":"60af8bbf7ed3c0638d245e222481a9273b17d27462","bound":null}\n'
    '9:["$","main",null,{"children":[false,["$","$L18",null,{"mode":"login","action":"$h19"}]]}]\n'
)
LOGIN_HTML = (
    "<html><body><script>self.__next_f.push([1,"
    + json.dumps(LOGIN_PAYLOAD[:40])
    + "])</script><script>self.__next_f.push([1,"
    + json.dumps(LOGIN_PAYLOAD[40:])
    + '])</script><script src="/_next/static/chunks/05_-bai5skm5p.js" async></script>'
    + '<link href="/_next/static/chunks/05_-bai5skm5p.js"></body></html>'
)
# The list page's client script that imports the log-out actions itself.
LOG_OUT_SCRIPT = (
    'let n=(0,r.createServerReference)("00069863662a2c34a92d5fa265246d6c199f07c4a4",'
    'r.callServer,void 0,r.findSourceMapURL,"logOut"),i=(0,r.createServerReference)('
    '"005bc31b77b6defccf5bd07d4c2b6106c54cc7e221",r.callServer,void 0,r.findSourceMapURL,'
    '"logOutEverywhere");'
)
# An add's answer: the result in row 1, then the re-rendered list holding the new todo.
ADD_ANSWER = (
    '0:{"a":"$@1","q":"","i":false,"b":"287SufTiUpcYvSF03D8d6"}\n'
    '1:{"status":"saved","values":{"title":"","description":""},"fieldErrors":{},"formError":null}\n'
    '5:I[36038,["$5","$6"],"$7"]\n'
    ':HL["/_next/static/chunks/1q4x1w6nsgbm1.css","style"]\n'
    '2a:["$","$L1f","2",{"todo":{"id":2,"title":"loadplan-x-frontend-1","description":"d",'
    '"completed":false},"actions":{"edit":"$h20","setCompleted":"$h21"}}]\n'
)


def test_finds_an_action_handed_to_a_client_component() -> None:
    payload = nextjs.flight_payload(LOGIN_HTML)
    assert payload == LOGIN_PAYLOAD
    assert nextjs.actions_by_prop(payload) == {
        "action": "60af8bbf7ed3c0638d245e222481a9273b17d27462"
    }


def test_a_prop_whose_row_is_absent_is_no_action() -> None:
    assert nextjs.actions_by_prop('9:{"action":"$h7"}\n') == {}


def test_a_page_without_a_payload_is_a_protocol_error() -> None:
    with pytest.raises(nextjs.ProtocolError):
        nextjs.flight_payload("<html></html>")


def test_finds_actions_a_client_script_imports_by_name() -> None:
    assert nextjs.actions_by_name(LOG_OUT_SCRIPT) == {
        "logOut": "00069863662a2c34a92d5fa265246d6c199f07c4a4",
        "logOutEverywhere": "005bc31b77b6defccf5bd07d4c2b6106c54cc7e221",
    }


def test_encodes_a_form_alone_as_react_does() -> None:
    # logOut(formData): no previous state, the form as the only argument.
    fields = nextjs.form_call(None, {"idempotencyKey": "k" * 22})
    assert fields == [("_1_idempotencyKey", "k" * 22), ("0", '["$K1"]')]


def test_lists_each_script_once() -> None:
    assert nextjs.scripts_of(LOGIN_HTML) == ["/_next/static/chunks/05_-bai5skm5p.js"]


def test_encodes_state_and_form_as_react_does() -> None:
    fields = nextjs.form_call({"error": None}, {"id": "1", "completed": "true"})
    # What Chromium sent for the list's "Done" button.
    assert fields == [("_1_id", "1"), ("_1_completed", "true"), ("0", '[{"error":null},"$K1"]')]
    body, content_type = nextjs.multipart(fields, "b0undary")
    assert content_type == "multipart/form-data; boundary=b0undary"
    assert body.startswith(
        '--b0undary\r\nContent-Disposition: form-data; name="_1_id"\r\n\r\n1\r\n'
    )
    assert body.endswith('name="0"\r\n\r\n[{"error":null},"$K1"]\r\n--b0undary--\r\n')


def test_reads_a_result_deferred_to_a_later_row() -> None:
    assert nextjs.result_of(ADD_ANSWER)["status"] == "saved"


def test_reads_a_result_inline_in_row_0() -> None:
    assert nextjs.result_of('0:{"a":{"error":"gone"},"b":"x"}\n') == {"error": "gone"}


def test_an_answer_without_a_result_is_a_protocol_error() -> None:
    with pytest.raises(nextjs.ProtocolError):
        nextjs.result_of("<html>Internal Server Error</html>")
    with pytest.raises(nextjs.ProtocolError):
        nextjs.result_of('0:{"a":"$@4"}\n')


def test_finds_the_new_todo_id_in_the_rerendered_list() -> None:
    assert nextjs.todo_id_in(ADD_ANSWER, "loadplan-x-frontend-1") == 2
    assert nextjs.todo_id_in(ADD_ANSWER, "loadplan-x-frontend-") is None


def test_reads_the_redirect_path() -> None:
    assert nextjs.redirect_of("/todos;push") == "/todos"
    assert nextjs.redirect_of(None) is None
