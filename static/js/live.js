// The supervisors' live page: listens to ws/live/ and keeps the agents and active calls tables
// in step. The socket sends a snapshot on every (re)connect, then one message per change, so a
// dropped connection loses nothing: reconnecting (1 s, doubling to 15 s) rebuilds both tables.
// Rows use the markup of templates/telephony/live.html; strings come translated from the page.
// Only elapsed durations are computed here: absolute times are the server's to render.
(function () {
  "use strict";
  var configNode = document.getElementById("live-config");
  var agentsBody = document.querySelector("#live-agents tbody");
  var callsBody = document.querySelector("#live-calls tbody");
  var statusNode = document.getElementById("live-status");
  if (!configNode || !agentsBody || !callsBody || !statusNode) {
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var FIRST_DELAY = 1000;
  var MAX_DELAY = 15000;
  // The consumer closes with these when the session is gone or the role may not watch:
  // trying again would only be refused again.
  var FINAL_CODES = [4401, 4403];

  var agents = {}; // id -> the agent as the snapshot sent it, with its latest state
  var calls = {}; // id -> the latest payload of a call still in progress
  var delay = FIRST_DELAY;
  var socket = null;

  function shown(company) {
    return !config.company || company === config.company;
  }

  function setStatus(state) {
    statusNode.dataset.state = state;
    statusNode.textContent = config.status[state] || "";
  }

  // Python's isoformat() gives microseconds; Date.parse is only required to read milliseconds.
  function instant(iso) {
    return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
  }

  function hms(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var hours = Math.floor(s / 3600);
    var minutes = Math.floor((s % 3600) / 60);
    var secs = s % 60;
    return hours + ":" + (minutes < 10 ? "0" : "") + minutes + ":" + (secs < 10 ? "0" : "") + secs;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("#live-agents time.elapsed, #live-calls time.elapsed").forEach(
      function (node) {
        var since = node.getAttribute("datetime");
        if (since) {
          node.textContent = hms((now - instant(since)) / 1000);
        }
      }
    );
  }

  function cell(className, text) {
    var td = document.createElement("td");
    td.className = className;
    td.textContent = text;
    return td;
  }

  function elapsedCell(className, since) {
    var td = document.createElement("td");
    td.className = className;
    var time = document.createElement("time");
    time.className = "elapsed";
    if (since) {
      time.setAttribute("datetime", since);
      time.textContent = hms((Date.now() - instant(since)) / 1000);
    } else {
      time.textContent = "\u2014";
    }
    td.appendChild(time);
    return td;
  }

  function stateCell(className, stateClass, label, reason) {
    var td = document.createElement("td");
    td.className = className;
    var badge = document.createElement("span");
    badge.className = "state " + stateClass;
    badge.textContent = label;
    td.appendChild(badge);
    if (reason) {
      var extra = document.createElement("span");
      extra.className = "pause-reason";
      extra.textContent = reason;
      td.appendChild(document.createTextNode(" "));
      td.appendChild(extra);
    }
    return td;
  }

  function agentRow(agent) {
    var state = agent.state || {};
    var code = state.state || config.noState;
    var tr = document.createElement("tr");
    tr.dataset.agentId = agent.id;
    tr.dataset.company = agent.company;
    tr.dataset.state = code;
    tr.appendChild(cell("agent-name", agent.name));
    tr.appendChild(cell("agent-company", agent.company));
    tr.appendChild(cell("agent-extensions", (agent.extensions || []).join(", ")));
    tr.appendChild(
      stateCell(
        "agent-state",
        "state-" + code,
        config.states[code] || state.state_label || code,
        state.pause_reason
      )
    );
    tr.appendChild(elapsedCell("agent-elapsed", state.since));
    return tr;
  }

  // Still going on until the hang-up sets ended_at (an answered call keeps the outcome
  // "answered" while the parties talk): the rule of telephony.live.active_calls.
  function active(call) {
    return !call.ended_at;
  }

  // The same rule as telephony/live_views.call_state.
  function callState(call) {
    if (call.answered_at) {
      return "talking";
    }
    return call.agent_id ? "ringing" : "waiting";
  }

  function callRow(call) {
    var code = callState(call);
    var agent = call.agent_id ? agents[call.agent_id] : null;
    var tr = document.createElement("tr");
    tr.dataset.callId = call.id;
    tr.dataset.company = call.company;
    tr.dataset.state = code;
    tr.appendChild(cell("call-company", call.company));
    tr.appendChild(cell("call-caller", call.caller || "\u2014"));
    tr.appendChild(cell("call-queue", call.queue || "\u2014"));
    tr.appendChild(cell("call-agent", agent ? agent.name : "\u2014"));
    tr.appendChild(stateCell("call-state", "call-" + code, config.callStates[code], ""));
    tr.appendChild(
      elapsedCell("call-elapsed", code === "talking" ? call.answered_at : call.offered_at)
    );
    return tr;
  }

  function rowOf(body, attribute, id) {
    return body.querySelector("tr[" + attribute + '="' + String(Number(id)) + '"]');
  }

  function refreshCounts() {
    var counts = {};
    Object.keys(config.states).forEach(function (code) {
      counts[code] = 0;
    });
    Object.keys(agents).forEach(function (id) {
      var state = agents[id].state;
      var code = (state && state.state) || config.noState;
      counts[code] = (counts[code] || 0) + 1;
    });
    document.querySelectorAll("#live-counts li[data-state]").forEach(function (item) {
      item.querySelector(".count").textContent = counts[item.dataset.state] || 0;
    });
  }

  function refreshEmpty() {
    document.getElementById("live-agents-empty").hidden = agentsBody.rows.length > 0;
    document.getElementById("live-calls-empty").hidden = callsBody.rows.length > 0;
  }

  function showSnapshot(message) {
    agents = {};
    calls = {};
    agentsBody.replaceChildren();
    callsBody.replaceChildren();
    message.agents.forEach(function (agent) {
      if (shown(agent.company)) {
        agents[agent.id] = agent;
        agentsBody.appendChild(agentRow(agent));
      }
    });
    message.calls.forEach(function (call) {
      if (shown(call.company) && active(call)) {
        calls[call.id] = call;
        callsBody.appendChild(callRow(call));
      }
    });
    refreshCounts();
    refreshEmpty();
  }

  function showState(state) {
    var agent = agents[state.agent_id];
    // Unknown: another company's agent while filtered, or one added after the snapshot (the
    // next reconnect brings them).
    if (!agent) {
      return;
    }
    agent.state = state;
    var old = rowOf(agentsBody, "data-agent-id", agent.id);
    var row = agentRow(agent);
    if (old) {
      old.replaceWith(row);
    } else {
      agentsBody.appendChild(row);
    }
    refreshCounts();
    refreshEmpty();
  }

  function showCall(call) {
    if (!shown(call.company)) {
      return;
    }
    var old = rowOf(callsBody, "data-call-id", call.id);
    if (!active(call)) {
      delete calls[call.id];
      if (old) {
        old.remove();
      }
    } else {
      calls[call.id] = call;
      var row = callRow(call);
      if (old) {
        old.replaceWith(row);
      } else {
        callsBody.appendChild(row);
      }
    }
    refreshEmpty();
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.socket);
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "snapshot") {
        delay = FIRST_DELAY;
        setStatus("live");
        showSnapshot(message);
      } else if (message.type === "state") {
        showState(message.state);
      } else if (message.type === "call") {
        showCall(message.call);
      }
    };
    socket.onclose = function (event) {
      socket = null;
      if (FINAL_CODES.indexOf(event.code) !== -1) {
        setStatus("closed");
        return;
      }
      setStatus("reconnecting");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_DELAY);
    };
  }

  setStatus("connecting");
  connect();
  window.setInterval(tick, 1000);
})();
